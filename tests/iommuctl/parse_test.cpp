// iommuctl's parsers and text helpers, called directly.
#include <doctest/doctest.h>

#include <sstream>

#include "args.h"
#include "format.h"
#include "render.h"

using namespace iommuctl;

TEST_CASE("numbers: decimal and 0x-hex, nothing else") {
    CHECK(parse_number("0", "N") == 0);
    CHECK(parse_number("4096", "N") == 4096);
    CHECK(parse_number("0x1000", "N") == 4096);
    CHECK(parse_number("0XfEe00000", "N") == 0xfee00000);
    CHECK(parse_number("18446744073709551615", "N") == UINT64_MAX);
    CHECK(parse_number("0xffffffffffffffff", "N") == UINT64_MAX);
    CHECK(parse_number("0x00000000000000001", "N") == 1);
    for (const char* bad : {"", "0x", "-1", "+1", " 1", "1 ", "1k", "0x1g", "1.0", "1e3", "0b101", "0x-1", "x10"})
        CHECK_THROWS_AS(parse_number(bad, "N"), UsageError);
    CHECK_THROWS_WITH(parse_number("18446744073709551616", "LENGTH"),
                      doctest::Contains("LENGTH: 18446744073709551616 is out of range"));
    CHECK_THROWS_WITH(parse_number("0x10000000000000000", "N"), doctest::Contains("out of range"));
    CHECK(parse_number("0xffff", "N", 0xffff) == 0xffff);
    CHECK_THROWS_WITH(parse_number("65536", "RID", 0xffff), doctest::Contains("at most 65535"));
}

TEST_CASE("RIDs: BB:DD.F or a number") {
    CHECK(parse_rid("00:02.1") == 0x11);
    CHECK(parse_rid("00:01.0") == 0x08);
    CHECK(parse_rid("ff:1f.7") == 0xffff);
    CHECK(parse_rid("0A:00.0") == 0x0a00);
    CHECK(parse_rid("0x28") == 0x28);
    CHECK(parse_rid("40") == 40);
    for (const char* bad : {"00:20.0", "00:01.8", "zz:01.0", "00-01.0", "0x10000", "00:1.0"})
        CHECK_THROWS_AS(parse_rid(bad), UsageError);
}

TEST_CASE("hex bytes") {
    using Bytes = std::vector<uint8_t>;
    CHECK(parse_hex_bytes("48656c6c6f", "D") == Bytes{'H', 'e', 'l', 'l', 'o'});
    CHECK(parse_hex_bytes("0xDEADbeef", "D") == Bytes{0xde, 0xad, 0xbe, 0xef});
    CHECK(parse_hex_bytes("de ad:be\tef", "D") == Bytes{0xde, 0xad, 0xbe, 0xef});
    CHECK_THROWS_WITH(parse_hex_bytes("d ead", "D"), doctest::Contains("a separator splits a byte"));
    CHECK_THROWS_WITH(parse_hex_bytes("abc", "D"), doctest::Contains("odd number"));
    CHECK_THROWS_WITH(parse_hex_bytes("", "D"), doctest::Contains("no bytes"));
    CHECK_THROWS_WITH(parse_hex_bytes("0x", "D"), doctest::Contains("no bytes"));
    CHECK_THROWS_WITH(parse_hex_bytes("0g", "D"), doctest::Contains("'g' is not a hex digit"));
    CHECK(to_hex(Bytes{0x00, 0x0f, 0xa0, 0xff}) == "000fa0ff");
    CHECK(from_hex("000FA0ff") == Bytes{0x00, 0x0f, 0xa0, 0xff});
    CHECK(from_hex("") == Bytes{});
    CHECK(!from_hex("abc"));
    CHECK(!from_hex("zz"));
}

TEST_CASE("options: --name VALUE, --name=VALUE, flags, --, globals") {
    std::ostringstream out, err;
    std::istringstream in;
    Env env{"/default.sock", 10000, out, err, in};
    const ParsedArgs a = parse_args({"x", "--pasid", "5", "--flag", "--write=ab=cd", "--", "--not-an-option", "-"},
                                    {{"--pasid", true}, {"--flag", false}, {"--write", true}}, env);
    CHECK(a.positional == std::vector<std::string>{"x", "--not-an-option", "-"});
    CHECK(a.value("--pasid") == "5");
    CHECK(a.value("--write") == "ab=cd");
    CHECK(a.has("--flag"));
    CHECK(!a.has("--other"));

    parse_args({"--socket", "/a.sock", "--timeout=250"}, {}, env);
    CHECK(env.socket_path == "/a.sock");
    CHECK(env.timeout_ms == 250);

    CHECK_THROWS_AS(parse_args({"--help"}, {}, env), HelpRequested);
    CHECK_THROWS_AS(parse_args({"a", "-h"}, {}, env), HelpRequested);
    CHECK_NOTHROW(parse_args({"--", "--help"}, {}, env));
    // A value that looks like an option is still the value.
    CHECK(parse_args({"--write-text", "--help"}, {{"--write-text", true}}, env).value("--write-text") == "--help");
    CHECK_THROWS_WITH(parse_args({"-x"}, {}, env), doctest::Contains("unknown option '-x'"));
    CHECK_THROWS_WITH(parse_args({"--flag=1"}, {{"--flag", false}}, env), doctest::Contains("takes no value"));
    CHECK_THROWS_WITH(parse_args({"--v", "1", "--v=2"}, {{"--v", true}}, env), doctest::Contains("given twice"));
}

TEST_CASE("text helpers") {
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(1536) == "1536 B");
    CHECK(human_bytes(4096) == "4 KiB");
    CHECK(human_bytes(12288) == "12 KiB");
    CHECK(human_bytes(2u << 20) == "2 MiB");
    CHECK(human_bytes(uint64_t{1} << 40) == "1 TiB");
    CHECK(human_bytes(uint64_t{1} << 63) == "8 EiB");
    CHECK(page_size(4096) == "4K");
    CHECK(page_size(uint64_t{1} << 30) == "1G");
    CHECK(page_size("2M") == "2M");
    CHECK(hex(uint64_t{0x8}, 4) == "0x0008");
    CHECK(hex(nlohmann::json("0xfee00000")) == "0xfee00000");
    CHECK(hex(nlohmann::json(nullptr)) == "-");
    CHECK(text(nlohmann::json("a\nb\x1b[31m")) == "a\\nb\\x1b[31m");
    CHECK(as_u64(nlohmann::json("0x10")) == 16u);
    CHECK(as_u64(nlohmann::json("10")) == 10u);
    CHECK(!as_u64(nlohmann::json("0x")));
    CHECK(!as_u64(nlohmann::json(-1)));
    CHECK(table({{"a", "bb", "c"}, {"ccc", "", "d"}}, "  ") == "  a    bb  c\n  ccc      d\n");
    CHECK(hexdump({'A', 0, 0x7f}, "") == "00000000  41 00 7f                                          |A..|\n");
}

TEST_CASE("DOT quoting") {
    CHECK(dot_quote("nic0") == "\"nic0\"");
    CHECK(dot_quote("a\"b") == "\"a\\\"b\"");
    CHECK(dot_quote("a\\b") == "\"a\\\\b\"");
    CHECK(dot_quote("a\\") == "\"a\\\\\"");  // a trailing backslash cannot eat the closing quote
    CHECK(dot_quote("l1\nl2") == "\"l1\\nl2\"");
    CHECK(dot_quote(std::string("a\x01z", 3)) == "\"a\\\\x01z\"");
    CHECK(dot_quote("\\N") == "\"\\\\N\"");                      // not Graphviz's node-name escape
    CHECK(dot_quote("<b>&amp;</b>") == "\"<b>&amp;amp;</b>\"");  // shown as typed, not as an entity
}
