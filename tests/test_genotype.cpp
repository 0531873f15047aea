// Tests of genotype derivation, the JSON and DARTS text forms, the table and DOT.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "adarts/error.h"
#include "adarts/genotype.h"
#include "adarts/op_names.h"
#include "adarts/supernet.h"
#include "test_util.h"

#ifndef ADARTS_FIXTURES_DIR
#define ADARTS_FIXTURES_DIR "tests/fixtures"
#endif

namespace {

using adarts::test::expect_error;

using adarts::CellGenotype;
using adarts::ErrorKind;
using adarts::Genotype;
using adarts::GenotypeEdge;

std::string read_fixture(const std::string& name) {
  const std::string path = std::string(ADARTS_FIXTURES_DIR) + "/genotypes/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open fixture " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fixture line without its `NAME = ` prefix and trailing newline.
std::string expression_of(const std::string& line) {
  std::string s = line.substr(line.find('=') + 1);
  s.erase(0, s.find_first_not_of(' '));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

const std::vector<std::string>& ops() { return adarts::darts_op_names(); }

int col(const std::string& op) {
  const auto& o = ops();
  return static_cast<int>(std::find(o.begin(), o.end(), op) - o.begin());
}

// Row of edge `from` -> `to` in the [14, 8] weights of a 4-step cell.
int row(int from, int to) {
  const int node = to - 2;
  return node * (node + 3) / 2 + from;
}

Genotype darts_v2() {
  Genotype g;
  g.normal.edges = {{"sep_conv_3x3", 0, 2}, {"sep_conv_3x3", 1, 2}, {"sep_conv_3x3", 0, 3},
                    {"sep_conv_3x3", 1, 3}, {"sep_conv_3x3", 1, 4}, {"skip_connect", 0, 4},
                    {"skip_connect", 0, 5}, {"dil_conv_3x3", 2, 5}};
  g.normal.concat = {2, 3, 4, 5};
  g.reduce.edges = {{"max_pool_3x3", 0, 2}, {"max_pool_3x3", 1, 2}, {"skip_connect", 2, 3},
                    {"max_pool_3x3", 1, 3}, {"max_pool_3x3", 0, 4}, {"skip_connect", 2, 4},
                    {"skip_connect", 2, 5}, {"max_pool_3x3", 1, 5}};
  g.reduce.concat = {2, 3, 4, 5};
  return g;
}

// ---------------------------------------------------------------------------
// derive_cell

TEST(DeriveCell, KeepsTopTwoInputsPerNodeSortedByFrom) {
  at::Tensor w = at::full({14, 8}, 0.01, at::kFloat);
  auto set = [&](int from, int to, const char* op, double v) { w[row(from, to)][col(op)] = v; };
  set(0, 2, "sep_conv_3x3", 0.5);  // node 2: both inputs
  set(1, 2, "skip_connect", 0.6);
  set(0, 3, "max_pool_3x3", 0.3);  // node 3: from 1 and 2
  set(1, 3, "dil_conv_3x3", 0.7);
  set(2, 3, "sep_conv_5x5", 0.4);
  set(0, 4, "sep_conv_3x3", 0.2);  // node 4: from 2 and 3
  set(1, 4, "avg_pool_3x3", 0.1);
  set(2, 4, "dil_conv_5x5", 0.8);
  set(3, 4, "avg_pool_3x3", 0.9);
  set(0, 5, "sep_conv_3x3", 0.45);  // node 5: from 0 and 4
  set(1, 5, "sep_conv_5x5", 0.3);
  set(2, 5, "max_pool_3x3", 0.2);
  set(3, 5, "dil_conv_3x3", 0.1);
  set(4, 5, "skip_connect", 0.5);
  const CellGenotype c = adarts::derive_cell(w, ops(), 4);
  const std::vector<GenotypeEdge> want = {
      {"sep_conv_3x3", 0, 2}, {"skip_connect", 1, 2}, {"dil_conv_3x3", 1, 3}, {"sep_conv_5x5", 2, 3},
      {"dil_conv_5x5", 2, 4}, {"avg_pool_3x3", 3, 4}, {"sep_conv_3x3", 0, 5}, {"skip_connect", 4, 5}};
  EXPECT_EQ(c.edges, want);
  EXPECT_EQ(c.concat, (std::vector<int>{2, 3, 4, 5}));
}

TEST(DeriveCell, NeverChoosesNoneEvenWhenItDominates) {
  at::Tensor w = at::full({14, 8}, 0.01, at::kDouble);
  for (int e = 0; e < 14; ++e) w[e][col("none")] = 0.9;  // none is the strongest everywhere
  // Node 3: the edge from 2 has the largest none but the weakest real op.
  w[row(0, 3)][col("sep_conv_3x3")] = 0.05;
  w[row(1, 3)][col("max_pool_3x3")] = 0.04;
  w[row(2, 3)][col("none")] = 0.99;
  w[row(2, 3)][col("skip_connect")] = 0.02;
  const CellGenotype c = adarts::derive_cell(w, ops(), 4);
  ASSERT_EQ(c.edges.size(), 8u);
  for (const auto& e : c.edges) EXPECT_NE(e.op, "none");
  EXPECT_EQ(c.edges[2], (GenotypeEdge{"sep_conv_3x3", 0, 3}));
  EXPECT_EQ(c.edges[3], (GenotypeEdge{"max_pool_3x3", 1, 3}));
}

TEST(DeriveCell, TiesGoToTheLowerIndex) {
  // Uniform weights: every node takes inputs 0 and 1 with the first op after none.
  const at::Tensor w = at::full({14, 8}, 1.0 / 8, at::kDouble);
  const CellGenotype c = adarts::derive_cell(w, ops(), 4);
  ASSERT_EQ(c.edges.size(), 8u);
  for (std::size_t i = 0; i < c.edges.size(); ++i) {
    EXPECT_EQ(c.edges[i].op, "max_pool_3x3");
    EXPECT_EQ(c.edges[i].from, static_cast<int>(i % 2));
    EXPECT_EQ(c.edges[i].to, 2 + static_cast<int>(i / 2));
  }
  // An op tie on one edge: the lower column wins.
  at::Tensor w2 = at::full({14, 8}, 0.0, at::kDouble);
  w2[0][col("dil_conv_5x5")] = 0.5;
  w2[0][col("sep_conv_5x5")] = 0.5;
  EXPECT_EQ(adarts::derive_cell(w2, ops(), 4).edges[0].op, "sep_conv_5x5");
}

TEST(DeriveCell, FloatDoubleAndGradTensorsAgree) {
  at::manual_seed(3);
  const at::Tensor alpha = at::randn({14, 8}, at::kDouble);
  const at::Tensor d = at::softmax(alpha, -1);
  const at::Tensor f = d.to(at::kFloat).set_requires_grad(true);
  EXPECT_EQ(adarts::derive_cell(d, ops(), 4), adarts::derive_cell(f, ops(), 4));
  const CellGenotype c = adarts::derive_cell(d, ops(), 4);
  for (std::size_t i = 0; i + 1 < c.edges.size(); ++i) {
    const auto& a = c.edges[i];
    const auto& b = c.edges[i + 1];
    EXPECT_TRUE(a.to < b.to || (a.to == b.to && a.from < b.from));
  }
}

TEST(DeriveCell, OneInputPerNodeAndOtherStepCounts) {
  at::Tensor w = at::full({5, 8}, 0.1, at::kFloat);  // steps = 2: 2 + 3 edges
  w[1][col("sep_conv_3x3")] = 0.5;                   // node 2 from 1
  w[4][col("skip_connect")] = 0.5;                   // node 3 from 2
  const CellGenotype c = adarts::derive_cell(w, ops(), 2, 1);
  EXPECT_EQ(c.edges, (std::vector<GenotypeEdge>{{"sep_conv_3x3", 1, 2}, {"skip_connect", 2, 3}}));
  EXPECT_EQ(c.concat, (std::vector<int>{2, 3}));
}

TEST(DeriveCell, RestrictedOpSetWithoutNone) {
  const std::vector<std::string> s2 = {"skip_connect", "sep_conv_3x3"};
  at::Tensor w = at::full({14, 2}, 0.5, at::kFloat);
  w[0][1] = 0.7;
  const CellGenotype c = adarts::derive_cell(w, s2, 4);
  EXPECT_EQ(c.edges[0], (GenotypeEdge{"sep_conv_3x3", 0, 2}));
  EXPECT_EQ(c.edges[1], (GenotypeEdge{"skip_connect", 1, 2}));
}

TEST(DeriveCell, RejectsBadShapesAndArguments) {
  const auto ia = ErrorKind::invalid_argument;
  expect_error([] { adarts::derive_cell(at::zeros({13, 8}), ops(), 4); }, ia, {"[14, 8]", "[13, 8]"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 7}), ops(), 4); }, ia, {"[14, 8]"});
  expect_error([] { adarts::derive_cell(at::zeros({14 * 8}), ops(), 4); }, ia, {"shape"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 8, 1}), ops(), 4); }, ia, {"shape"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 8}), ops(), 3); }, ia, {"[9, 8]"});
  expect_error([] { adarts::derive_cell(at::zeros({0, 8}), ops(), 0); }, ia, {"steps"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 8}), ops(), 4, 3); }, ia, {"inputs_per_node"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 8}), ops(), 4, 0); }, ia, {"inputs_per_node"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 8}, at::kLong), ops(), 4); }, ia, {"floating"});
  expect_error([] { adarts::derive_cell(at::Tensor(), ops(), 4); }, ia, {"undefined"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 1}), {"none"}, 4); }, ia, {"none"});
  expect_error([] { adarts::derive_cell(at::zeros({14, 2}), {"none", "conv_9x9"}, 4); }, ia, {"conv_9x9"});
  at::Tensor nan = at::zeros({14, 8});
  nan[3][2] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { adarts::derive_cell(nan, ops(), 4); }, ia, {"NaN"});
}

TEST(DeriveCell, DerivedGenotypeRoundTripsThroughJsonAndText) {
  at::manual_seed(7);
  Genotype g;
  g.normal = adarts::derive_cell(at::softmax(at::randn({14, 8}), -1), ops(), 4);
  g.reduce = adarts::derive_cell(at::softmax(at::randn({14, 8}), -1), ops(), 4);
  EXPECT_EQ(adarts::genotype_from_json(adarts::to_json(g)), g);
  EXPECT_EQ(adarts::from_darts_text(adarts::to_darts_text(g)), g);
}

// ---------------------------------------------------------------------------
// JSON

TEST(GenotypeJson, RoundTripIsByteStable) {
  const Genotype g = darts_v2();
  const std::string j = adarts::to_json(g);
  const Genotype back = adarts::genotype_from_json(j);
  EXPECT_EQ(back, g);
  EXPECT_EQ(adarts::to_json(back), j);
  EXPECT_EQ(j, adarts::to_json(g));  // deterministic
  EXPECT_EQ(j.find("{\n  \"format\": \"adarts.genotype\",\n  \"version\": 1,\n  \"space\": \"darts\",\n"), 0u);
}

TEST(GenotypeJson, MatchesTheFixtureWrittenByThisFormat) {
  const std::string fixture = read_fixture("darts_v2.json");
  EXPECT_EQ(adarts::to_json(darts_v2()), fixture);
  EXPECT_EQ(adarts::genotype_from_json(fixture), darts_v2());
}

TEST(GenotypeJson, SpacesOtherThanDarts) {
  Genotype g = darts_v2();
  g.space = "s1";
  const std::string j = adarts::to_json(g);
  EXPECT_NE(j.find("\"space\": \"s1\""), std::string::npos);
  EXPECT_EQ(adarts::genotype_from_json(j).space, "s1");
  g.space = "nasbench";
  expect_error([&] { adarts::to_json(g); }, ErrorKind::invalid_argument, {"space", "nasbench"});
}

TEST(GenotypeJson, MetadataIsCarriedAndByteStable) {
  const std::string meta =
      R"({"seed": 2, "method": "amended", "val_acc": 0.875, "lrs": [0.025, 0.001], "empty": {}, )"
      R"("none": null, "nested": {"epochs": 50, "list": [{"a": true}, []]}})";
  const std::string j = adarts::to_json(darts_v2(), meta);
  EXPECT_NE(j.find("\"metadata\": {\n    \"seed\": 2,"), std::string::npos) << j;
  std::string meta_back;
  const Genotype g = adarts::genotype_from_json(j, &meta_back);
  EXPECT_EQ(g, darts_v2());
  EXPECT_EQ(adarts::to_json(g, meta_back), j);
  // Without metadata the out-parameter is cleared and nothing is written.
  std::string none = "stale";
  adarts::genotype_from_json(adarts::to_json(darts_v2()), &none);
  EXPECT_EQ(none, "");
  EXPECT_EQ(adarts::to_json(darts_v2(), ""), adarts::to_json(darts_v2()));
  expect_error([] { adarts::to_json(darts_v2(), "[1, 2]"); }, ErrorKind::invalid_argument, {"metadata"});
  expect_error([] { adarts::to_json(darts_v2(), "{oops"); }, ErrorKind::invalid_argument, {"metadata"});
}

TEST(GenotypeJson, EdgesAreGroupedByNodeKeepingInputOrder) {
  const std::string doc =
      R"({"format":"adarts.genotype","version":1,"space":"darts",)"
      R"("normal":[{"op":"skip_connect","from":2,"to":3},{"op":"sep_conv_3x3","from":1,"to":2},)"
      R"({"op":"sep_conv_5x5","from":0,"to":3},{"op":"sep_conv_3x3","from":0,"to":2}],"normal_concat":[3,2],)"
      R"("reduce":[{"op":"max_pool_3x3","from":0,"to":2},{"op":"max_pool_3x3","from":1,"to":2}],"reduce_concat":[2]})";
  const Genotype g = adarts::genotype_from_json(doc);
  EXPECT_EQ(g.normal.edges, (std::vector<GenotypeEdge>{{"sep_conv_3x3", 1, 2},
                                                       {"sep_conv_3x3", 0, 2},
                                                       {"skip_connect", 2, 3},
                                                       {"sep_conv_5x5", 0, 3}}));
  EXPECT_EQ(g.normal.concat, (std::vector<int>{3, 2}));
  EXPECT_EQ(g.reduce.edges.size(), 2u);
}

// A valid 2-step document; the cases below break one thing each.
const std::string kBase =
    R"({"format":"adarts.genotype","version":1,"space":"darts",)"
    R"("normal":[{"op":"sep_conv_3x3","from":0,"to":2},{"op":"sep_conv_3x3","from":1,"to":2},)"
    R"({"op":"skip_connect","from":0,"to":3},{"op":"dil_conv_3x3","from":2,"to":3}],"normal_concat":[2,3],)"
    R"("reduce":[{"op":"max_pool_3x3","from":0,"to":2},{"op":"max_pool_3x3","from":1,"to":2},)"
    R"({"op":"skip_connect","from":2,"to":3},{"op":"max_pool_3x3","from":1,"to":3}],"reduce_concat":[2,3]})";

std::string with(std::string doc, const std::string& from, const std::string& to) {
  const auto at = doc.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) doc.replace(at, from.size(), to);
  return doc;
}

TEST(GenotypeJson, BaseDocumentIsValid) {
  const Genotype g = adarts::genotype_from_json(kBase);
  EXPECT_EQ(g.normal.edges.size(), 4u);
  EXPECT_EQ(adarts::genotype_from_json(adarts::to_json(g)), g);
}

TEST(GenotypeJson, MalformedDocumentsNameTheField) {
  const std::string n3 = R"({"op":"dil_conv_3x3","from":2,"to":3})";  // normal[3]
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"", {"invalid JSON", "line 1"}},
      {"{", {"invalid JSON"}},
      {"{\n  \"format\": tru\n}", {"invalid JSON", "line 2", "column"}},
      {with(kBase, R"("version":1,)", R"("version":1,,)"), {"invalid JSON", "offset"}},
      {kBase + " x", {"trailing", "offset"}},
      {kBase + "{}", {"trailing"}},
      {"[1, 2]", {"must be an object", "an array"}},
      {"\"genotype\"", {"must be an object"}},
      {with(kBase, R"("format":"adarts.genotype",)", ""), {"format", "missing"}},
      {with(kBase, R"("adarts.genotype")", R"("adarts.config")"), {"format", "adarts.config"}},
      {with(kBase, R"("adarts.genotype")", "3"), {"format", "string"}},
      {with(kBase, R"("version":1)", R"("version":3)"), {"version", "unsupported", "3"}},
      {with(kBase, R"("version":1)", R"("version":2)"), {"unknown top-level key", "normal", "version 2"}},
      {with(kBase, R"("version":1)", R"("version":"1")"), {"version", "integer"}},
      {with(kBase, R"("version":1,)", ""), {"version", "missing"}},
      {with(kBase, R"("space":"darts",)", ""), {"space", "missing"}},
      {with(kBase, R"("space":"darts")", R"("space":"nasbench201")"), {"space", "nasbench201", "darts, s1, s2"}},
      {with(kBase, R"("space":"darts")", R"("space":1)"), {"space", "string"}},
      {with(kBase, R"("space":"darts",)", R"("space":"darts","extra":1,)"), {"unknown top-level key", "extra"}},
      {with(with(kBase, R"("normal":[)", R"("normal":{"a":[)"), R"(],"normal_concat")", R"(]},"normal_concat")"),
       {"normal", "array", "an object"}},
      {with(kBase, R"(,"normal_concat":[2,3])", ""), {"normal_concat", "missing"}},
      {with(kBase, R"(,"reduce_concat":[2,3])", ""), {"reduce_concat", "missing"}},
      {with(kBase, R"({"op":"sep_conv_3x3","from":0,"to":2},)", R"(7,)"), {"normal[0]", "object"}},
      {with(kBase, R"({"op":"sep_conv_3x3","from":0,"to":2},)", R"({"op":"sep_conv_3x3","from":0,"to":2,"w":1},)"),
       {"normal[0]", "unknown key", "w"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":"2","to":3})"), {"normal[3].from", "integer", "string"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":2.0,"to":3})"), {"normal[3].from", "integer"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":2,"to":null})"), {"normal[3].to", "integer"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","to":3})"), {"normal[3].from", "missing"}},
      {with(kBase, n3, R"({"from":2,"to":3})"), {"normal[3].op", "missing"}},
      {with(kBase, n3, R"({"op":4,"from":2,"to":3})"), {"normal[3].op", "string"}},
      {with(kBase, n3, R"({"op":"conv_7x1_1x7","from":2,"to":3})"),
       {"normal[3].op", "conv_7x1_1x7", "sep_conv_3x3", "dil_conv_5x5"}},
      {with(kBase, n3, R"({"op":"none","from":2,"to":3})"), {"normal[3].op", "none"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":3,"to":3})"), {"normal[3].from"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":4,"to":3})"), {"normal[3].from"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":-1,"to":3})"), {"normal[3].from", "-1"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":0,"to":1})"), {"normal[3].to", "intermediate"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":2,"to":99999999999})"), {"normal[3].to", "out of range"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":1,"to":2})"), {"normal", "node 2", "3 input"}},
      {with(kBase, n3, R"({"op":"dil_conv_3x3","from":2,"to":4})"), {"normal", "node 3", "1 input"}},
      {with(kBase, R"("normal":[)", R"("normal":[{"op":"skip_connect","from":0,"to":5},)"),
       {"normal", "node 4", "0 input"}},
      {with(kBase, R"("normal":[)", R"("normal":[],"x":[)"), {"unknown top-level key"}},
      {with(kBase, R"("normal_concat":[2,3])", R"("normal_concat":[2,4])"), {"normal_concat[1]", "out of range", "[2, 4)"}},
      {with(kBase, R"("normal_concat":[2,3])", R"("normal_concat":[1,3])"), {"normal_concat[0]", "out of range"}},
      {with(kBase, R"("normal_concat":[2,3])", R"("normal_concat":[3,3])"), {"normal_concat[1]", "duplicate"}},
      {with(kBase, R"("normal_concat":[2,3])", R"("normal_concat":[])"), {"normal_concat", "at least one"}},
      {with(kBase, R"("normal_concat":[2,3])", R"("normal_concat":[2,"3"])"), {"normal_concat[1]", "integer"}},
      {with(kBase, R"("normal_concat":[2,3])", R"("normal_concat":"2,3")"), {"normal_concat", "array"}},
      {with(kBase, R"({"op":"max_pool_3x3","from":1,"to":3})", R"({"op":"max_pool","from":1,"to":3})"),
       {"reduce[3].op", "max_pool"}},
      {with(kBase, R"("reduce_concat":[2,3])", R"("reduce_concat":[2,3,3])"), {"reduce_concat[2]", "duplicate"}},
      {with(kBase, R"("reduce_concat":[2,3]})", R"("reduce_concat":[2,3],"metadata":[]})"), {"metadata", "object"}},
  };
  for (const auto& [doc, want] : cases) {
    SCOPED_TRACE(doc);
    expect_error([&] { adarts::genotype_from_json(doc); }, ErrorKind::parse_error, want);
  }
}

TEST(GenotypeJson, EmptyCellIsRejected) {
  std::string doc = kBase;
  const auto start = doc.find(R"("normal":[)") + 10;
  const auto end = doc.find("]", start);
  doc.erase(start, end - start);
  expect_error([&] { adarts::genotype_from_json(doc); }, ErrorKind::parse_error, {"normal", "no edges"});
}

// ---------------------------------------------------------------------------
// DARTS text

TEST(DartsText, PublishedFixturesParse) {
  const Genotype v1 = adarts::from_darts_text(read_fixture("darts_v1.txt"));
  const Genotype v2 = adarts::from_darts_text(read_fixture("darts_v2.txt"));
  const Genotype pc = adarts::from_darts_text(read_fixture("pc_darts.txt"));
  const Genotype pd = adarts::from_darts_text(read_fixture("pdarts.txt"));
  EXPECT_EQ(v2, darts_v2());
  EXPECT_EQ(v1.normal.edges[0], (GenotypeEdge{"sep_conv_3x3", 1, 2}));  // written order kept
  EXPECT_EQ(v1.normal.edges[1], (GenotypeEdge{"sep_conv_3x3", 0, 2}));
  EXPECT_EQ(v1.reduce.edges[7], (GenotypeEdge{"avg_pool_3x3", 0, 5}));
  EXPECT_EQ(pc.normal.edges[7], (GenotypeEdge{"dil_conv_3x3", 1, 5}));
  EXPECT_EQ(pc.reduce.edges[5], (GenotypeEdge{"sep_conv_3x3", 3, 4}));
  EXPECT_EQ(pd.normal.edges[7], (GenotypeEdge{"dil_conv_5x5", 4, 5}));
  // P-DARTS's reduction node 5 takes node 1 twice.
  EXPECT_EQ(pd.reduce.edges[4], (GenotypeEdge{"max_pool_3x3", 0, 4}));
  EXPECT_EQ(pd.reduce.edges[5], (GenotypeEdge{"dil_conv_3x3", 1, 4}));
  EXPECT_EQ(pd.reduce.edges[6], (GenotypeEdge{"dil_conv_3x3", 1, 5}));
  for (const Genotype* g : {&v1, &v2, &pc, &pd}) {
    EXPECT_EQ(g->space, "darts");
    EXPECT_EQ(g->normal.edges.size(), 8u);
    EXPECT_EQ(g->reduce.edges.size(), 8u);
    EXPECT_EQ(g->normal.concat, (std::vector<int>{2, 3, 4, 5}));
    EXPECT_EQ(g->reduce.concat, (std::vector<int>{2, 3, 4, 5}));
    EXPECT_EQ(adarts::genotype_from_json(adarts::to_json(*g)), *g);
  }
}

TEST(DartsText, CanonicalFormIsByteStable) {
  for (const char* name : {"darts_v1.txt", "darts_v2.txt"}) {
    const std::string canonical = expression_of(read_fixture(name));
    EXPECT_EQ(adarts::to_darts_text(adarts::from_darts_text(canonical)), canonical) << name;
  }
  for (const char* name : {"pc_darts.txt", "pdarts.txt"}) {
    const std::string text = adarts::to_darts_text(adarts::from_darts_text(read_fixture(name)));
    EXPECT_EQ(text.find("range"), std::string::npos);
    EXPECT_EQ(adarts::to_darts_text(adarts::from_darts_text(text)), text) << name;
  }
  const std::string v2 =
      "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
      "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, "
      "4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
      "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, "
      "4, 5])";
  EXPECT_EQ(adarts::to_darts_text(darts_v2()), v2);
}

const char* kSmallList =
    "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('avg_pool_3x3', 0)], "
    "normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('sep_conv_5x5', 1)], reduce_concat=[2, 3])";

TEST(DartsText, ConcatFormsAgree) {
  const Genotype want = adarts::from_darts_text(kSmallList);
  const std::string s(kSmallList);
  auto concat_as = [&](const std::string& form) {
    std::string t = s;
    for (const char* key : {"normal_concat=[2, 3]", "reduce_concat=[2, 3]"}) {
      const std::string k(key);
      t.replace(t.find(k), k.size(), k.substr(0, k.find('=') + 1) + form);
    }
    return t;
  };
  for (const char* form : {"range(2, 4)", "range(2,4)", "range( 2 , 4 , )", "list(range(2, 4))", "(2, 3)",
                           "[2, 3,]", "[2,3]"}) {
    EXPECT_EQ(adarts::from_darts_text(concat_as(form)), want) << form;
  }
  const Genotype v2 = adarts::from_darts_text(read_fixture("darts_v2.txt"));
  std::string ranged = read_fixture("darts_v2.txt");
  for (int i = 0; i < 2; ++i) ranged.replace(ranged.find("[2, 3, 4, 5]"), 12, "range(2, 6)");
  EXPECT_EQ(adarts::from_darts_text(ranged), v2);
}

TEST(DartsText, WhitespaceQuotesAndLayoutVariants) {
  const Genotype want = adarts::from_darts_text(kSmallList);
  const std::vector<std::string> variants = {
      // Double quotes, newlines, trailing commas, comments.
      "SMALL = Genotype(\n"
      "    normal=[\n"
      "        (\"sep_conv_3x3\", 0),  # node 2\n"
      "        (\"skip_connect\", 1),\n"
      "        (\"dil_conv_5x5\", 2), (\"avg_pool_3x3\", 0),\n"
      "    ],\n"
      "    normal_concat=[2, 3],\n"
      "    reduce=[('max_pool_3x3',0),('max_pool_3x3',1),('skip_connect',2),('sep_conv_5x5',1),],\n"
      "    reduce_concat=range(2, 4),\n"
      ")\n",
      // Keyword order changed, tabs and CRLF.
      "\tGenotype ( reduce_concat = [2, 3] ,\r\n reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
      "('skip_connect', 2), ('sep_conv_5x5', 1)],\r\n normal_concat=[2, 3], normal=[('sep_conv_3x3', 0), "
      "('skip_connect', 1), ('dil_conv_5x5', 2), ('avg_pool_3x3', 0)]);",
      // Without the name, with a module prefix, positional arguments, pairs as lists.
      "(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('avg_pool_3x3', 0)], "
      "normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
      "('sep_conv_5x5', 1)], reduce_concat=[2, 3])",
      "genotypes.Genotype([['sep_conv_3x3', 0], ['skip_connect', 1], ['dil_conv_5x5', 2], ['avg_pool_3x3', 0]], "
      "[2, 3], reduce=[('max_pool_3x3', 0,), ('max_pool_3x3', 1), ('skip_connect', 2), ('sep_conv_5x5', 1)], "
      "reduce_concat=[2, 3])",
  };
  for (const auto& v : variants) EXPECT_EQ(adarts::from_darts_text(v), want) << v;
}

TEST(DartsText, ErrorsNamePositionAndExpectation) {
  const auto pe = ErrorKind::parse_error;
  const std::string v2 = expression_of(read_fixture("darts_v2.txt"));
  expect_error([&] { adarts::from_darts_text(v2.substr(0, v2.find("normal_concat"))); }, pe,
               {"DARTS text", "line 1, column", "expected", "end of input"});
  expect_error([&] { adarts::from_darts_text(v2.substr(0, v2.size() - 1)); }, pe, {"expected", "end of input"});
  expect_error([&] { adarts::from_darts_text(""); }, pe, {"line 1, column 1", "expected"});
  std::string unknown = v2;
  unknown.replace(unknown.find("'sep_conv_3x3', 1), ('sep_conv_3x3', 0)"), 14, "'conv_7x1_1x7'");
  expect_error([&] { adarts::from_darts_text(unknown); }, pe,
               {"normal[1].op", "unknown op 'conv_7x1_1x7'", "sep_conv_3x3", "column 40"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('none', 0)"); }, pe, {"normal[0].op", "none"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3, 0)])"); }, pe, {"unterminated string"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', 0) ('sep_conv_3x3', 1)])"); }, pe,
               {"expected ',' or ']'", "normal[0]"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', 2)])"); }, pe,
               {"normal[0].from", "node 2"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', -1)])"); }, pe, {"normal[0].from"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', '0')])"); }, pe,
               {"input node", "string '0'"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', 0.5)])"); }, pe, {"integer"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', 0)])"); }, pe,
               {"normal", "2 pairs per"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[])"); }, pe, {"normal", "empty"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)])"); }, pe,
               {"missing argument 'normal_concat'"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal_concat=[2], normal=[], normal_concat=[2])"); }, pe,
               {"normal", "empty"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal_concat=[2], normal_concat=[2])"); }, pe,
               {"duplicate argument 'normal_concat'"});
  expect_error([&] { adarts::from_darts_text("Genotype(cells=[])"); }, pe, {"unknown argument 'cells'"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal_concat=[2], [])"); }, pe, {"keyword argument"});
  expect_error([&] { adarts::from_darts_text("NASNet = Cell(normal=[])"); }, pe, {"expected 'Genotype'"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal_concat={2})"); }, pe, {"unexpected character '{'"});
  expect_error([&] { adarts::from_darts_text("Genotype(normal_concat=range(2 6))"); }, pe, {"expected ')'"});
  expect_error([&] { adarts::from_darts_text(v2 + "\nDARTS = DARTS_V2"); }, pe, {"line 2, column 1", "end of input"});
  std::string bad_concat = v2;
  bad_concat.replace(bad_concat.find("normal_concat=[2, 3, 4, 5]"), 26, "normal_concat=[2, 3, 4, 6]");
  expect_error([&] { adarts::from_darts_text(bad_concat); }, pe, {"normal_concat[3]", "out of range"});
  bad_concat = v2;
  bad_concat.replace(bad_concat.find("reduce_concat=[2, 3, 4, 5]"), 26, "reduce_concat=[2, 2]");
  expect_error([&] { adarts::from_darts_text(bad_concat); }, pe, {"reduce_concat[1]", "duplicate"});
  // Multi-line positions.
  expect_error([&] { adarts::from_darts_text("Genotype(\n  normal=[\n    ('sep_conv_9x9', 0),"); }, pe,
               {"line 3, column 6", "sep_conv_9x9"});
}

TEST(DartsText, WriterRejectsGenotypesItCannotExpress) {
  Genotype g = darts_v2();
  g.normal.edges.pop_back();  // node 5 with one input
  expect_error([&] { adarts::to_darts_text(g); }, ErrorKind::invalid_argument, {"normal", "node 5"});
  expect_error([&] { adarts::validate_genotype(g); }, ErrorKind::invalid_argument, {"normal", "node 5"});
  expect_error([&] { adarts::to_json(g); }, ErrorKind::invalid_argument, {"node 5"});
  adarts::validate_genotype(darts_v2());
}

TEST(GenotypeParsers, EveryPrefixAndByteFlipFailsCleanly) {
  // Truncations and single-byte corruptions throw parse_error (or still parse),
  // never anything else.
  auto check = [](const std::string& input, auto parse) {
    try {
      parse(input);
    } catch (const adarts::Error& e) {
      EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(ErrorKind::parse_error)) << e.what();
    }
  };
  const auto text = [](const std::string& s) { return adarts::from_darts_text(s); };
  const auto json = [](const std::string& s) { return adarts::genotype_from_json(s); };
  const std::string t = read_fixture("pdarts.txt");
  const std::string j = read_fixture("darts_v2.json");
  for (std::size_t n = 0; n < t.size(); ++n) check(t.substr(0, n), text);
  for (std::size_t n = 0; n < j.size(); ++n) check(j.substr(0, n), json);
  const std::string junk = "x0'\"[](),=-#\n";
  for (std::size_t n = 0; n < t.size(); n += 3)
    for (char c : junk) check(std::string(t).replace(n, 1, 1, c), text);
  for (std::size_t n = 0; n < j.size(); n += 3)
    for (char c : junk) check(std::string(j).replace(n, 1, 1, c), json);
}

// ---------------------------------------------------------------------------
// Table and DOT

TEST(GenotypeTable, ListsEveryInputAndTheConcat) {
  const std::string t = adarts::to_table(darts_v2());
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(t);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<std::string> cells;
    for (std::string c; ls >> c;) cells.push_back(c);
    rows.push_back(cells);
  }
  ASSERT_EQ(rows.size(), 2u + 9u + 9u) << t;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"cell", "node", "input", "op"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"normal", "2", "c_{k-2}", "sep_conv_3x3"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"normal", "2", "c_{k-1}", "sep_conv_3x3"}));
  EXPECT_EQ(rows[9], (std::vector<std::string>{"normal", "5", "2", "dil_conv_3x3"}));
  EXPECT_EQ(rows[10], (std::vector<std::string>{"normal", "out", "2,3,4,5", "concat"}));
  EXPECT_EQ(rows[13], (std::vector<std::string>{"reduce", "3", "2", "skip_connect"}));
  // Fixed width: the op column starts at the same offset on every row.
  std::istringstream in2(t);
  std::string first, line;
  std::getline(in2, first);
  const auto op_col = first.find("op");
  while (std::getline(in2, line))
    if (line[0] != '-') {
      EXPECT_EQ(line[op_col - 1], ' ') << line;
      EXPECT_NE(line[op_col], ' ') << line;
    }
  EXPECT_EQ(adarts::to_table(darts_v2()), t);
}

TEST(GenotypeDot, DartsV2NormalCell) {
  const std::string d = adarts::to_dot(darts_v2(), "normal");
  EXPECT_EQ(d.find("digraph normal {"), 0u);
  for (const char* edge : {
           R"("c_{k-2}" -> "0" [label="sep_conv_3x3"];)",
           R"("c_{k-1}" -> "0" [label="sep_conv_3x3"];)",
           R"("c_{k-2}" -> "1" [label="sep_conv_3x3"];)",
           R"("c_{k-1}" -> "1" [label="sep_conv_3x3"];)",
           R"("c_{k-1}" -> "2" [label="sep_conv_3x3"];)",
           R"("c_{k-2}" -> "2" [label="skip_connect"];)",
           R"("c_{k-2}" -> "3" [label="skip_connect"];)",
           R"("0" -> "3" [label="dil_conv_3x3"];)",
           R"("0" -> "c_{k}";)", R"("1" -> "c_{k}";)", R"("2" -> "c_{k}";)", R"("3" -> "c_{k}";)",
           R"("c_{k-2}" [fillcolor=darkseagreen2];)", R"("3" [fillcolor=lightblue];)",
           R"("c_{k}" [fillcolor=palegoldenrod];)"}) {
    EXPECT_NE(d.find(edge), std::string::npos) << edge << "\n" << d;
  }
  std::size_t arrows = 0;
  for (auto p = d.find("->"); p != std::string::npos; p = d.find("->", p + 1)) ++arrows;
  EXPECT_EQ(arrows, 12u);
  EXPECT_EQ(d.back(), '\n');
  EXPECT_EQ(adarts::to_dot(darts_v2(), "normal"), d);
}

TEST(GenotypeDot, ReduceCellAndPartialConcat) {
  Genotype g = darts_v2();
  g.reduce.concat = {4, 5};
  const std::string d = adarts::to_dot(g, "reduce");
  EXPECT_EQ(d.find("digraph reduce {"), 0u);
  EXPECT_NE(d.find(R"("0" -> "1" [label="skip_connect"];)"), std::string::npos) << d;
  EXPECT_NE(d.find(R"("c_{k-1}" -> "3" [label="max_pool_3x3"];)"), std::string::npos) << d;
  EXPECT_NE(d.find(R"("2" -> "c_{k}";)"), std::string::npos);
  EXPECT_EQ(d.find(R"("0" -> "c_{k}";)"), std::string::npos);
  expect_error([] { adarts::to_dot(darts_v2(), "both"); }, ErrorKind::invalid_argument, {"normal", "reduce"});
}

}  // namespace
