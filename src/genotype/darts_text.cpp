// The original DARTS text form of a genotype: a parser for the Python
// namedtuple expression (from_darts_text) and its writer (to_darts_text).
#include "adarts/genotype.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "adarts/error.h"
#include "genotype/genotype_internal.h"

namespace adarts {

using namespace genotype_internal;

namespace {

// DARTS text: a tokenizer and a recursive-descent parser for the Python
// expression `[NAME =] [Genotype](normal=[(op, from), ...], normal_concat=..., ...)`.

struct Token {
  enum Kind { Ident, Int, String, Punct, End } kind = End;
  std::string text;  // identifier, string contents or the punctuation character
  long long value = 0;
  std::size_t offset = 0;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Token::Ident: return "identifier '" + t.text + "'";
    case Token::Int: return "integer " + std::to_string(t.value);
    case Token::String: return "string '" + t.text + "'";
    case Token::Punct: return "'" + t.text + "'";
    case Token::End: return "end of input";
  }
  return "?";
}

class DartsTextParser {
 public:
  explicit DartsTextParser(const std::string& text) : text_(text) { tokenize(); }

  Genotype parse() {
    // Optional assignment `NAME =`.
    if (peek().kind == Token::Ident && peek(1).kind == Token::Punct && peek(1).text == "=") {
      pos_ += 2;
    }
    // Optional callee, e.g. `Genotype` or `genotypes.Genotype`.
    if (peek().kind == Token::Ident) {
      const Token& t = peek();
      const auto dot = t.text.rfind('.');
      const std::string last = dot == std::string::npos ? t.text : t.text.substr(dot + 1);
      if (last != "Genotype") fail(t, "expected 'Genotype' or '('");
      ++pos_;
    }
    expect("(", "to open the Genotype arguments");
    static const char* names[4] = {"normal", "normal_concat", "reduce", "reduce_concat"};
    bool have[4] = {false, false, false, false};
    Genotype g;
    bool keyword_seen = false;
    int positional = 0;
    while (!is_punct(peek(), ")")) {
      int slot = -1;
      const Token& start = peek();
      if (start.kind == Token::Ident && is_punct(peek(1), "=")) {
        for (int i = 0; i < 4; ++i)
          if (start.text == names[i]) slot = i;
        if (slot < 0)
          fail(start, "unknown argument '" + start.text +
                          "' (expected normal, normal_concat, reduce, reduce_concat)");
        if (have[slot]) fail(start, "duplicate argument '" + start.text + "'");
        keyword_seen = true;
        pos_ += 2;
      } else {
        if (keyword_seen) fail(start, "expected a keyword argument (e.g. reduce=...), got " + describe(start));
        if (positional >= 4) fail(start, "too many arguments: Genotype takes 4");
        slot = positional++;
      }
      have[slot] = true;
      switch (slot) {
        case 0: g.normal.edges = parse_edges("normal"); break;
        case 1: g.normal.concat = parse_concat(); break;
        case 2: g.reduce.edges = parse_edges("reduce"); break;
        default: g.reduce.concat = parse_concat(); break;
      }
      if (is_punct(peek(), ",")) {
        ++pos_;
      } else if (!is_punct(peek(), ")")) {
        fail(peek(), "expected ',' or ')' after argument '" + std::string(names[slot]) + "', got " +
                         describe(peek()));
      }
    }
    const Token& close = peek();
    ++pos_;
    for (int i = 0; i < 4; ++i)
      if (!have[i]) fail(close, std::string("missing argument '") + names[i] + "'");
    if (is_punct(peek(), ";")) ++pos_;
    if (peek().kind != Token::End) fail(peek(), "expected end of input after the Genotype, got " + describe(peek()));

    g.space = "darts";
    const std::string problem = genotype_problem(g);
    if (!problem.empty()) throw parse_error("DARTS text: " + problem);
    return g;
  }

 private:
  [[noreturn]] void fail_at(std::size_t offset, const std::string& msg) const {
    throw parse_error("DARTS text: " + describe_position(text_, offset) + ": " + msg);
  }
  [[noreturn]] void fail(const Token& t, const std::string& msg) const { fail_at(t.offset, msg); }

  static bool is_punct(const Token& t, const char* p) { return t.kind == Token::Punct && t.text == p; }

  const Token& peek(std::size_t ahead = 0) const {
    const std::size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }

  const Token& expect(const char* punct, const char* why) {
    const Token& t = peek();
    if (!is_punct(t, punct)) fail(t, std::string("expected '") + punct + "' " + why + ", got " + describe(t));
    ++pos_;
    return t;
  }

  int expect_int(const char* what) {
    const Token& t = peek();
    if (t.kind != Token::Int) fail(t, std::string("expected ") + what + ", got " + describe(t));
    ++pos_;
    return static_cast<int>(t.value);
  }

  std::vector<GenotypeEdge> parse_edges(const std::string& name) {
    const Token& open = expect("[", ("to open the list of (op, input) pairs of " + name).c_str());
    std::vector<GenotypeEdge> edges;
    while (!is_punct(peek(), "]")) {
      const std::size_t k = edges.size();
      const std::string f = field(name, k);
      const Token& pair_open = peek();
      std::string close;
      if (is_punct(pair_open, "(")) {
        close = ")";
      } else if (is_punct(pair_open, "[")) {
        close = "]";
      } else {
        fail(pair_open, "expected '(' to open pair " + f + " ('op', input), got " + describe(pair_open));
      }
      ++pos_;
      const Token& op = peek();
      if (op.kind != Token::String) fail(op, "expected the op name of " + f + " as a quoted string, got " + describe(op));
      if (!is_genotype_op(op.text)) fail(op, f + ".op: " + op_problem(op.text));
      ++pos_;
      expect(",", ("after the op name of " + f).c_str());
      const Token& from_tok = peek();
      const int from = expect_int(("the input node of " + f + " (an integer)").c_str());
      const int to = 2 + static_cast<int>(k / 2);
      if (from < 0 || from >= to)
        fail(from_tok, f + ".from: input " + std::to_string(from) + " of node " + std::to_string(to) +
                           " must be an earlier node, 0.." + std::to_string(to - 1) +
                           " (pair k is an input of node 2 + k/2)");
      if (is_punct(peek(), ",")) ++pos_;
      expect(close.c_str(), ("to close pair " + f).c_str());
      edges.push_back(GenotypeEdge{op.text, from, to});
      if (is_punct(peek(), ",")) {
        ++pos_;
      } else if (!is_punct(peek(), "]")) {
        fail(peek(), "expected ',' or ']' after pair " + f + ", got " + describe(peek()));
      }
    }
    ++pos_;  // ']'
    if (edges.empty()) fail(open, name + ": the list of pairs is empty");
    if (edges.size() % 2 != 0)
      fail(open, name + ": " + std::to_string(edges.size()) +
                     " pairs; the DARTS text form needs exactly 2 pairs per intermediate node");
    return edges;
  }

  // [2, 3, 4, 5] | (2, 3, 4, 5) | range(2, 6) | range(6) | list(range(2, 6))
  std::vector<int> parse_concat() {
    const Token& t = peek();
    if (t.kind == Token::Ident && t.text == "list") {
      ++pos_;
      expect("(", "after 'list'");
      std::vector<int> v = parse_concat();
      expect(")", "to close 'list('");
      return v;
    }
    if (t.kind == Token::Ident && t.text == "range") {
      ++pos_;
      expect("(", "after 'range'");
      int start = 0;
      int stop = expect_int("an integer argument of range");
      if (is_punct(peek(), ",")) {
        ++pos_;
        if (peek().kind == Token::Int) {
          start = stop;
          stop = expect_int("the stop argument of range");
          if (is_punct(peek(), ",")) ++pos_;
        }
      }
      expect(")", "to close 'range('");
      if (stop - start > 1000) fail(t, "range(" + std::to_string(start) + ", " + std::to_string(stop) + ") is too long");
      std::vector<int> v;
      for (int i = start; i < stop; ++i) v.push_back(i);
      return v;
    }
    std::string close;
    if (is_punct(t, "[")) {
      close = "]";
    } else if (is_punct(t, "(")) {
      close = ")";
    } else {
      fail(t, "expected a concat list like [2, 3, 4, 5] or range(2, 6), got " + describe(t));
    }
    ++pos_;
    std::vector<int> v;
    while (!is_punct(peek(), close.c_str())) {
      v.push_back(expect_int("a node number"));
      if (is_punct(peek(), ",")) {
        ++pos_;
      } else if (!is_punct(peek(), close.c_str())) {
        fail(peek(), "expected ',' or '" + close + "' in the concat list, got " + describe(peek()));
      }
    }
    ++pos_;
    return v;
  }

  void tokenize() {
    const std::string& s = text_;
    std::size_t i = 0;
    auto is_ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    auto is_ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    while (true) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                              s[i] == '\f' || s[i] == '\v' || s[i] == '#')) {
        if (s[i] == '#') {
          while (i < s.size() && s[i] != '\n') ++i;
        } else {
          ++i;
        }
      }
      Token t;
      t.offset = i;
      if (i >= s.size()) {
        t.kind = Token::End;
        tokens_.push_back(t);
        return;
      }
      const char c = s[i];
      if (is_ident_start(c)) {
        std::size_t j = i;
        while (j < s.size() && is_ident_char(s[j])) ++j;
        t.kind = Token::Ident;
        t.text = s.substr(i, j - i);
        i = j;
      } else if (is_digit(c) || (c == '-' && i + 1 < s.size() && is_digit(s[i + 1]))) {
        std::size_t j = i + (c == '-' ? 1 : 0);
        long long v = 0;
        while (j < s.size() && is_digit(s[j])) {
          v = v * 10 + (s[j] - '0');
          if (v > 1000000000LL) fail_at(i, "integer is too large");
          ++j;
        }
        if (j < s.size() && (is_ident_start(s[j]) || s[j] == '.'))
          fail_at(i, "expected an integer, got '" + s.substr(i, j + 1 - i) + "'");
        t.kind = Token::Int;
        t.value = c == '-' ? -v : v;
        t.text = s.substr(i, j - i);
        i = j;
      } else if (c == '\'' || c == '"') {
        std::size_t j = i + 1;
        std::string value;
        while (true) {
          if (j >= s.size() || s[j] == '\n') fail_at(i, std::string("unterminated string (missing closing ") + c + ")");
          if (s[j] == c) break;
          if (s[j] == '\\' && j + 1 < s.size()) ++j;
          value += s[j++];
        }
        t.kind = Token::String;
        t.text = value;
        i = j + 1;
      } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == '=' || c == ';') {
        t.kind = Token::Punct;
        t.text = std::string(1, c);
        ++i;
      } else {
        fail_at(i, std::string("unexpected character '") + c + "'");
      }
      tokens_.push_back(std::move(t));
    }
  }

  const std::string& text_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

std::string darts_text_cell(const CellGenotype& cell, const std::string& name) {
  std::string out = name + "=[";
  const auto edges = edges_by_node(cell);
  for (std::size_t i = 0; i < edges.size(); ++i) {
    if (i) out += ", ";
    out += "('" + edges[i].op + "', " + std::to_string(edges[i].from) + ")";
  }
  out += "], " + name + "_concat=[";
  for (std::size_t i = 0; i < cell.concat.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(cell.concat[i]);
  }
  out += "]";
  return out;
}

}  // namespace

std::string to_darts_text(const Genotype& genotype) {
  check_for_writer(genotype, "to_darts_text");
  if (genotype.per_cell())
    throw unsupported("to_darts_text: the DARTS text form holds one normal and one reduction cell; this " +
                      genotype.space + " genotype has one genotype per cell (" + std::to_string(genotype.cells.size()) +
                      " cells): write it as JSON (version 2)");
  return "Genotype(" + darts_text_cell(genotype.normal, "normal") + ", " +
         darts_text_cell(genotype.reduce, "reduce") + ")";
}

Genotype from_darts_text(const std::string& text) { return DartsTextParser(text).parse(); }

}  // namespace adarts
