// The edge toolkit (toolkit/): one number parser, hex, BDFs, JSON pieces
// and the uapi names every edge spells the same way.
#include <doctest/doctest.h>

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "../../toolkit/hex_text.h"
#include "../../toolkit/json_reader.h"
#include "../../toolkit/json_text.h"
#include "../../toolkit/number_text.h"
#include "../../toolkit/proc_status.h"
#include "../../toolkit/uapi_names.h"

#include <unistd.h>

using namespace ciommu;

namespace {

struct NumberCase {
    const char* text;
    unsigned forms;
    NumberError error;
    uint64_t value;
};

}  // namespace

TEST_CASE("parse_u64 accepts exactly the forms it is given") {
    const NumberCase cases[] = {
        {"4096", kDecimal, NumberError::kNone, 4096},
        {"4096", kHex, NumberError::kBad, 0},
        {"0x1000", kHex, NumberError::kNone, 0x1000},
        {"0X1000", kHex, NumberError::kNone, 0x1000},
        {"0x1000", kDecimal, NumberError::kBad, 0},
        {"0x", kHex | kDecimal, NumberError::kBad, 0},
        {"", kDecimal, NumberError::kBad, 0},
        {"-1", kDecimal, NumberError::kBad, 0},
        {"+1", kDecimal, NumberError::kBad, 0},
        {"12a", kDecimal, NumberError::kBad, 0},
        {"0x-1", kHex, NumberError::kBad, 0},
        {"4K", kHex | kSizeSuffix, NumberError::kNone, 4096},
        {"2M", kSizeSuffix, NumberError::kNone, 2u << 20},
        {"1T", kSizeSuffix, NumberError::kNone, uint64_t{1} << 40},
        {"4K", kDecimal, NumberError::kBad, 0},
        {"K", kSizeSuffix, NumberError::kBad, 0},
        {"18446744073709551615", kDecimal, NumberError::kNone, ~uint64_t{0}},
        {"18446744073709551616", kDecimal, NumberError::kTooBig, 0},
        {"0xffffffffffffffff", kHex, NumberError::kNone, ~uint64_t{0}},
        {"0x10000000000000000", kHex, NumberError::kTooBig, 0},
        {"16777216T", kSizeSuffix, NumberError::kTooBig, 0},  // 2^24 * 2^40
        {"16777215T", kSizeSuffix, NumberError::kNone, ((uint64_t{1} << 24) - 1) << 40},
    };
    for (const NumberCase& c : cases) {
        CAPTURE(c.text);
        uint64_t out = 12345;
        CHECK(parse_u64(c.text, c.forms, out) == c.error);
        CHECK(out == (c.error == NumberError::kNone ? c.value : 12345));  // untouched on error
    }
}

TEST_CASE("json_u64 takes a JSON integer or text, nothing else") {
    uint64_t out = 0;
    CHECK(json_u64(nlohmann::json(7), kHex, out) == NumberError::kNone);
    CHECK(out == 7);
    CHECK(json_u64(nlohmann::json(-7), kHex, out) == NumberError::kBad);
    CHECK(json_u64(nlohmann::json(1.5), kHex, out) == NumberError::kBad);
    CHECK(json_u64(nlohmann::json(true), kHex, out) == NumberError::kBad);
    CHECK(json_u64(nlohmann::json("0x10"), kHex, out) == NumberError::kNone);
    CHECK(out == 16);
    CHECK(json_u64(nlohmann::json("16"), kHex, out) == NumberError::kBad);
}

TEST_CASE("hex bytes and BDFs") {
    const std::vector<uint8_t> bytes{0x00, 0x0f, 0xa0, 0xff};
    CHECK(to_hex(bytes) == "000fa0ff");
    CHECK(from_hex("000FA0ff") == bytes);
    CHECK(from_hex("")->empty());
    CHECK_FALSE(from_hex("abc"));
    CHECK_FALSE(from_hex("0x00"));
    CHECK(parse_bdf("00:02.1") == 0x0011);
    CHECK(parse_bdf("ff:1f.7") == 0xffff);
    CHECK_FALSE(parse_bdf("00:20.0"));  // device is 5 bits
    CHECK_FALSE(parse_bdf("00:02.8"));  // function is 3 bits
    CHECK_FALSE(parse_bdf("00-02.1"));
    CHECK_FALSE(parse_bdf("0:02.1"));
}

TEST_CASE("JSON pieces for error messages") {
    CHECK(json_pointer_child("/devices", 3) == "/devices/3");
    CHECK(json_pointer_child("", "a/b~c") == "/a~1b~0c");
    CHECK(shown(nlohmann::json::object()) == "an object");
    CHECK(shown(nlohmann::json::array()) == "an array");
    CHECK(shown(nlohmann::json("x")) == "\"x\"");
    CHECK(shown(nlohmann::json(std::string(100, 'a'))).size() == 40);
    CHECK(json_quoted("a\"b") == "\"a\\\"b\"");
}

TEST_CASE("every uapi name has its two spellings, in uapi order") {
    auto check_table = [](std::span<const UapiName> names) {
        for (size_t i = 0; i < names.size(); ++i) {
            std::string lowered;
            for (char c : names[i].uapi)
                lowered += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            CHECK(names[i].text == lowered);
            if (i > 0)
                CHECK(names[i].value > names[i - 1].value);
            CHECK(value_of_text(names, names[i].text) == names[i].value);
            CHECK(uapi_name(names, names[i].value) == names[i].uapi);
        }
    };
    check_table(kFaultReasons);
    check_table(kDmaStatuses);
    check_table(kFaultPerms);
    check_table(kResvRegionTypes);
    check_table(kDmaFaultFlags);
    CHECK(text_names_of_bits(kDmaFaultFlags, IOMMU_FAULT_WRITE | IOMMU_FAULT_STAGE2 | 0x80) ==
          std::vector<std::string_view>{"write", "stage2"});
    CHECK(text_name(kFaultReasons, IOMMU_FAULT_REASON_NOT_MAPPED) == "not-mapped");
    CHECK(text_name(kFaultReasons, 999) == "?");
    CHECK_FALSE(value_of_text(kFaultReasons, "NOT_MAPPED"));
    CHECK(text_names_listed(kFaultReasons) == "blocked, not-mapped, permission, reserved, addr-size");
    // Every fault reason the header defines is named.
    CHECK(kFaultReasons[0].value == IOMMU_FAULT_REASON_BLOCKED);
    CHECK(std::size(kFaultReasons) == IOMMU_FAULT_REASON_ADDR_SIZE - IOMMU_FAULT_REASON_BLOCKED + 1);
}

TEST_CASE("read_tgid: this thread's process, and -1 for no thread") {
    CHECK(read_tgid(gettid()) == getpid());
    CHECK(read_tgid(-5) == -1);
}

TEST_CASE("the JSON reader: the first error, at the pointer of the value it is about") {
    const nlohmann::json doc = nlohmann::json::parse(R"({"a": {"n": "0x10", "b": 1, "s": 2}, "list": [true, 7]})");
    JsonErrors errs;
    const JsonNode root{doc, "", errs};
    uint64_t n = 0;
    bool b = false;
    std::string s;
    CHECK(check_object(root, {"a", "list"}));
    CHECK(required(root, "a", [&](const JsonNode& a) { return required(a, "n", [&](const JsonNode& v) {
        return read_number(v, kHex, n);
    }); }));
    CHECK(n == 16);
    CHECK_FALSE(errs.first);

    SUBCASE("a missing key is reported where it should be") {
        CHECK_FALSE(required(root, "gone", [](const JsonNode&) { return true; }));
        REQUIRE(errs.first);
        CHECK(errs.first->path == "/gone");
        CHECK(errs.first->message == "missing");
        CHECK(if_present(root, "gone", [](const JsonNode&) { return false; }));  // absent: the default stands
    }
    SUBCASE("wrong types, at the value; only the first error is kept") {
        const JsonNode a = *member(root, "a");
        CHECK_FALSE(read_bool(*member(a, "b"), b));
        CHECK_FALSE(read_string(*member(a, "s"), s));
        REQUIRE(errs.first);
        CHECK(errs.first->path == "/a/b");
        CHECK(errs.first->message == "expected true or false, got 1");
    }
    SUBCASE("unknown keys name the allowed ones, not the unlisted ones") {
        CHECK_FALSE(check_object(root, {"a"}, {"cmd"}));
        REQUIRE(errs.first);
        CHECK(errs.first->path == "/list");
        CHECK(errs.first->message == "unknown key; expected one of: a");
    }
    SUBCASE("array elements and ranges") {
        const JsonNode list = *member(root, "list");
        CHECK(check_array(list, "flags"));
        CHECK(read_bool(list.element(0), b));
        CHECK(b);
        CHECK_FALSE(read_number_in(list.element(1), 8, 9, n));
        REQUIRE(errs.first);
        CHECK(errs.first->path == "/list/1");
        CHECK(errs.first->message == "expected 8..9, got 7");
    }
}
