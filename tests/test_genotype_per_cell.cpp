// Per-cell genotypes (space s2): JSON version 2, backward compatibility with
// version 1, validation naming fields, the table, DOT of the whole network.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "adarts/error.h"
#include "adarts/genotype.h"
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

// An s2 cell on the fixed chain edges: node i takes c_{k-2} and node i-1;
// `ops` has one letter per edge, s = skip_connect, c = sep_conv_3x3.
CellGenotype chain_cell(const std::string& ops) {
  CellGenotype cell;
  for (std::size_t k = 0; k < ops.size(); ++k) {
    const int to = 2 + static_cast<int>(k / 2);
    const int from = k % 2 == 0 ? 0 : to - 1;
    cell.edges.push_back({ops[k] == 's' ? "skip_connect" : "sep_conv_3x3", from, to});
  }
  for (int n = 2; n < 2 + static_cast<int>(ops.size() / 2); ++n) cell.concat.push_back(n);
  return cell;
}

// Three cells: cells 1 and 2 are reductions (3/3 = 1, 6/3 = 2).
Genotype s2_three_cells() {
  Genotype g;
  g.space = "s2";
  g.cells = {chain_cell("ccsccssc"), chain_cell("sscccccs"), chain_cell("cscscscs")};
  g.reduction = {false, true, true};
  return g;
}

Genotype shared_s1() {
  Genotype g;
  g.space = "s1";
  g.normal = chain_cell("ccsccssc");
  g.reduce = chain_cell("sscccccs");
  return g;
}

TEST(PerCellGenotype, JsonRoundTripIsVersion2AndByteStable) {
  const Genotype g = s2_three_cells();
  ASSERT_TRUE(g.per_cell());
  adarts::validate_genotype(g);
  const std::string j = adarts::to_json(g);
  EXPECT_EQ(j.find("{\n  \"format\": \"adarts.genotype\",\n  \"version\": 2,\n  \"space\": \"s2\",\n  \"cells\": [\n"), 0u)
      << j;
  EXPECT_EQ(j.find("\"normal\""), std::string::npos);
  const Genotype back = adarts::genotype_from_json(j);
  EXPECT_EQ(back, g);
  EXPECT_EQ(back.cells[1].edges[0], (GenotypeEdge{"skip_connect", 0, 2}));
  EXPECT_EQ(back.reduction, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(adarts::to_json(back), j);
  // Metadata is carried as in version 1.
  const std::string with_meta = adarts::to_json(g, R"({"seed": 3})");
  std::string meta;
  EXPECT_EQ(adarts::genotype_from_json(with_meta, &meta), g);
  EXPECT_EQ(meta, R"({"seed":3})");
  EXPECT_EQ(adarts::to_json(g, meta), with_meta);
}

TEST(PerCellGenotype, MatchesTheFixtureWrittenByThisFormat) {
  const std::string fixture = read_fixture("s2_three_cells.json");
  EXPECT_EQ(adarts::to_json(s2_three_cells()), fixture);
  EXPECT_EQ(adarts::genotype_from_json(fixture), s2_three_cells());
}

TEST(PerCellGenotype, Version1DocumentsStayVersion1) {
  // A shared genotype writes version 1 byte for byte as before, and reads back.
  const std::string v1 = read_fixture("darts_v2.json");
  const Genotype g = adarts::genotype_from_json(v1);
  EXPECT_FALSE(g.per_cell());
  EXPECT_TRUE(g.cells.empty());
  EXPECT_EQ(adarts::to_json(g), v1);
  const std::string s1 = adarts::to_json(shared_s1());
  EXPECT_NE(s1.find("\"version\": 1,"), std::string::npos);
  EXPECT_EQ(adarts::genotype_from_json(s1), shared_s1());
  // Shared genotypes keep a normal and a reduce cell for every layer.
  EXPECT_EQ(&g.cell_for_layer(0, 8), &g.normal);
  EXPECT_EQ(&g.cell_for_layer(2, 8), &g.reduce);
  EXPECT_EQ(&g.cell_for_layer(5, 8), &g.reduce);
}

TEST(PerCellGenotype, CellForLayerNeedsTheSameCellCount) {
  const Genotype g = s2_three_cells();
  EXPECT_EQ(&g.cell_for_layer(2, 3), &g.cells[2]);
  expect_error([&] { g.cell_for_layer(0, 8); }, ErrorKind::invalid_argument, {"3 cells", "8 layers"});
  expect_error([&] { g.cell_for_layer(3, 3); }, ErrorKind::invalid_argument, {"layer 3", "out of range"});
}

// A valid 2-cell, 2-step version-2 document (cell 0 and cell 1 both reduce:
// 2/3 = 0 and 4/3 = 1); each case below breaks one thing.
const std::string kBase =
    R"({"format":"adarts.genotype","version":2,"space":"s2","cells":[)"
    R"({"reduction":true,"edges":[{"op":"sep_conv_3x3","from":0,"to":2},{"op":"skip_connect","from":1,"to":2},)"
    R"({"op":"skip_connect","from":0,"to":3},{"op":"sep_conv_3x3","from":2,"to":3}],"concat":[2,3]},)"
    R"({"reduction":true,"edges":[{"op":"sep_conv_3x3","from":0,"to":2},{"op":"sep_conv_3x3","from":1,"to":2},)"
    R"({"op":"sep_conv_3x3","from":0,"to":3},{"op":"skip_connect","from":2,"to":3}],"concat":[2,3]}]})";

std::string with(std::string doc, const std::string& from, const std::string& to) {
  const auto at = doc.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) doc.replace(at, from.size(), to);
  return doc;
}

TEST(PerCellGenotype, BaseDocumentIsValid) {
  const Genotype g = adarts::genotype_from_json(kBase);
  ASSERT_EQ(g.cells.size(), 2u);
  EXPECT_EQ(g.cells[1].edges[3], (GenotypeEdge{"skip_connect", 2, 3}));
  EXPECT_EQ(adarts::genotype_from_json(adarts::to_json(g)), g);
}

TEST(PerCellGenotype, MalformedDocumentsNameTheField) {
  const std::string c1e3 = R"({"op":"skip_connect","from":2,"to":3}],"concat":[2,3]}])";  // cells[1].edges[3]
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {with(kBase, R"("version":2)", R"("version":3)"), {"version", "unsupported", "3", "1 and 2"}},
      {with(kBase, R"("cells":[)", R"("normal":[],"cells":[)"), {"unknown top-level key", "normal", "version 2"}},
      {with(kBase, R"("space":"s2",)", R"("space":"s2","extra":0,)"), {"unknown top-level key", "extra"}},
      {with(kBase, R"("space":"s2")", R"("space":"darts")"), {"cells", "darts", "version 1"}},
      {with(kBase, R"("space":"s2")", R"("space":"s3")"), {"space", "s3"}},
      {R"({"format":"adarts.genotype","version":2,"space":"s2"})", {"cells", "missing"}},
      {R"({"format":"adarts.genotype","version":2,"space":"s2","cells":[]})", {"cells", "at least one"}},
      {R"({"format":"adarts.genotype","version":2,"space":"s2","cells":{}})", {"cells", "array", "an object"}},
      {with(kBase, R"("cells":[{)", R"("cells":[7,{)"), {"cells[0]", "cell object", "an integer"}},
      {with(kBase, R"({"reduction":true,"edges")", R"({"reduction":true,"depth":1,"edges")"),
       {"cells[0]", "unknown key", "depth"}},
      {with(kBase, R"({"reduction":true,"edges")", R"({"reduction":1,"edges")"), {"cells[0].reduction", "true or false"}},
      {with(kBase, R"({"reduction":true,"edges")", R"({"edges")"), {"cells[0].reduction", "missing"}},
      {with(kBase, R"({"reduction":true,"edges")", R"({"reduction":false,"edges")"),
       {"cells[0].reduction", "must be a reduction", "cells 0 and 1"}},
      {with(kBase, c1e3, R"({"op":"none","from":2,"to":3}],"concat":[2,3]}])"), {"cells[1].edges[3].op", "none"}},
      {with(kBase, c1e3, R"({"op":"skip_connect","from":3,"to":3}],"concat":[2,3]}])"), {"cells[1].edges[3].from"}},
      {with(kBase, c1e3, R"({"op":"skip_connect","from":"2","to":3}],"concat":[2,3]}])"),
       {"cells[1].edges[3].from", "integer"}},
      {with(kBase, c1e3, R"({"op":"skip_connect","from":2,"to":4}],"concat":[2,3]}])"),
       {"cells[1].edges", "node 3", "1 input"}},
      {with(kBase, c1e3, R"({"op":"skip_connect","from":2,"to":3}],"concat":[2,4]}])"),
       {"cells[1].concat[1]", "out of range"}},
      {with(kBase, c1e3, R"({"op":"skip_connect","from":2,"to":3}]}])"), {"cells[1].concat", "missing"}},
      {with(kBase, R"(],"concat":[2,3]},{)", R"(],"concat":[2,2]},{)"), {"cells[0].concat[1]", "duplicate"}},
      {with(kBase, R"("cells":[{"reduction":true,"edges":[)", R"("cells":[{"reduction":true,"edges":[],"x":[)"),
       {"cells[0]", "unknown key", "x"}},
  };
  for (const auto& [doc, want] : cases) {
    SCOPED_TRACE(doc);
    expect_error([&] { adarts::genotype_from_json(doc); }, ErrorKind::parse_error, want);
  }
}

TEST(PerCellGenotype, ValidateNamesTheField) {
  const auto ia = ErrorKind::invalid_argument;
  Genotype g = s2_three_cells();
  g.reduction.pop_back();
  expect_error([&] { adarts::validate_genotype(g); }, ia, {"reduction", "2 flag(s)", "3 cells"});
  g = s2_three_cells();
  g.cells[2].edges[5].op = "conv_9x9";
  expect_error([&] { adarts::validate_genotype(g); }, ia, {"cells[2].edges[5].op", "conv_9x9"});
  expect_error([&] { adarts::to_json(g); }, ia, {"cells[2].edges[5].op"});
  g = s2_three_cells();
  g.normal = chain_cell("cccc");
  expect_error([&] { adarts::validate_genotype(g); }, ia, {"normal", "must be empty"});
  g = s2_three_cells();
  g.space = "s1";
  expect_error([&] { adarts::validate_genotype(g); }, ia, {"cells", "s1"});
  // s2 with shared cells, and reduction flags without cells.
  Genotype s = shared_s1();
  s.space = "s2";
  expect_error([&] { adarts::validate_genotype(s); }, ia, {"cells", "s2", "shared"});
  s = shared_s1();
  s.reduction = {false};
  expect_error([&] { adarts::validate_genotype(s); }, ia, {"reduction"});
  // Reductions at n/3 and 2n/3 of 20 cells: 6 and 13.
  g = Genotype{};
  g.space = "s2";
  for (int i = 0; i < 20; ++i) {
    g.cells.push_back(chain_cell("cccccccc"));
    g.reduction.push_back(i == 6 || i == 13);
  }
  adarts::validate_genotype(g);
  g.reduction[7] = true;
  expect_error([&] { adarts::validate_genotype(g); }, ia, {"cells[7].reduction", "normal", "6 and 13"});
}

TEST(PerCellGenotype, DartsTextIsRefusedClearly) {
  expect_error([] { adarts::to_darts_text(s2_three_cells()); }, ErrorKind::unsupported,
               {"DARTS text", "per cell", "3 cells", "JSON"});
  // Shared genotypes still write and read it.
  const Genotype g = shared_s1();
  Genotype back = adarts::from_darts_text(adarts::to_darts_text(g));
  back.space = "s1";
  EXPECT_EQ(back, g);
}

TEST(PerCellGenotype, SummaryLineCountsOps) {
  EXPECT_EQ(adarts::summary_line(s2_three_cells()), "s2 per-cell genotype, 3 cells: sep_conv_3x3 x14, skip_connect x10");
  EXPECT_EQ(adarts::summary_line(shared_s1()), adarts::to_darts_text(shared_s1()));
}

std::vector<std::vector<std::string>> table_rows(const std::string& t) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(t);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<std::string> cells;
    for (std::string c; ls >> c;) cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

TEST(PerCellGenotype, TableListsEveryCell) {
  const auto rows = table_rows(adarts::to_table(s2_three_cells()));
  ASSERT_EQ(rows.size(), 2u + 3u * 9u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"cell", "type", "node", "input", "op"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"0", "normal", "2", "c_{k-2}", "sep_conv_3x3"}));
  EXPECT_EQ(rows[10], (std::vector<std::string>{"0", "normal", "out", "2,3,4,5", "concat"}));
  EXPECT_EQ(rows[11], (std::vector<std::string>{"1", "reduce", "2", "c_{k-2}", "skip_connect"}));
  EXPECT_EQ(rows[18], (std::vector<std::string>{"1", "reduce", "5", "4", "skip_connect"}));
  EXPECT_EQ(rows[28], (std::vector<std::string>{"2", "reduce", "out", "2,3,4,5", "concat"}));
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(PerCellGenotype, DotOfTheWholeNetwork) {
  const Genotype g = s2_three_cells();
  const std::string d = adarts::to_dot(g, "network");
  EXPECT_EQ(d.find("digraph network {"), 0u);
  EXPECT_EQ(count(d, "subgraph cluster_"), 3u);
  EXPECT_NE(d.find("label=\"cell 1 (reduction)\""), std::string::npos) << d;
  // Cell 0 takes the stem twice; cell 1 the stem and c0; cell 2 c0 and c1.
  for (const char* edge : {
           R"("stem" -> "0.0" [color=blue];)",    // cell 0, node 2 from c_{k-2}: sep_conv_3x3
           R"("stem" -> "0.1" [color=red];)",     // cell 0, node 3 from c_{k-2}: skip_connect
           R"("stem" -> "1.0" [color=red];)",     // cell 1 from c_{k-2} = stem
           R"("c0" -> "1.0" [color=red];)",       // cell 1 from c_{k-1} = cell 0
           R"("c0" -> "2.0" [color=blue];)",      // cell 2 from c_{k-2} = cell 0
           R"("c1" -> "2.0" [color=red];)",       // cell 2 from c_{k-1} = cell 1
           R"("2.2" -> "2.3" [color=red];)",      // cell 2, node 5 from node 4
           R"("2.3" -> "c2" [color=gray];)", R"("c2" -> "classifier";)"}) {
    EXPECT_NE(d.find(edge), std::string::npos) << edge << "\n" << d;
  }
  // 24 op edges, 12 concat edges, one to the classifier.
  EXPECT_EQ(count(d, "->"), 24u + 12u + 1u);
  EXPECT_EQ(count(d, "[color=red]"), 10u);
  EXPECT_EQ(count(d, "[color=blue]"), 14u);
  EXPECT_EQ(adarts::to_dot(g, "network"), d);
  // Other ops are labelled.
  Genotype other = g;
  other.cells[0].edges[0].op = "max_pool_3x3";
  EXPECT_NE(adarts::to_dot(other, "network").find(R"("stem" -> "0.0" [color=black, label="max_pool_3x3"];)"),
            std::string::npos);
}

TEST(PerCellGenotype, DotOfOneCellAndBadNames) {
  const Genotype g = s2_three_cells();
  const std::string d = adarts::to_dot(g, "cell1");
  EXPECT_EQ(d.find("digraph cell1 {"), 0u);
  EXPECT_NE(d.find(R"("c_{k-2}" -> "0" [label="skip_connect"];)"), std::string::npos) << d;
  for (const char* bad : {"normal", "reduce", "cell3", "cell", "cellx", "cell-1", "network2"})
    expect_error([&] { adarts::to_dot(g, bad); }, ErrorKind::invalid_argument, {"network", "cellN", "[0, 3)", bad});
  expect_error([] { adarts::to_dot(shared_s1(), "network"); }, ErrorKind::invalid_argument, {"normal", "reduce"});
}

}  // namespace
