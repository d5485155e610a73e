using System.Globalization;
using KimiSharp.Grammar;
using KimiSharp.Grammar.Json;
using static KimiSharp.Tests.Grammar.GrammarAssert;

namespace KimiSharp.Tests.Grammar;

public class JsonSchemaCompilerTests
{
    private static CompiledGrammar Compile(string schema, bool strict = true) => JsonSchemaCompiler.Compile(schema, new JsonSchemaOptions { Strict = strict });

    [Theory]
    [InlineData("""{"type":"integer","minimum":-37,"maximum":1234}""", -37, 1234)]
    [InlineData("""{"type":"integer","exclusiveMinimum":-37,"exclusiveMaximum":1234}""", -36, 1233)]
    [InlineData("""{"type":"integer","minimum":-37,"exclusiveMinimum":true,"maximum":99}""", -36, 99)]
    [InlineData("""{"type":"integer","minimum":0.5,"maximum":9.5}""", 1, 9)]
    [InlineData("""{"type":"integer","minimum":-2000}""", -2000, 100_000)]
    [InlineData("""{"type":"integer","maximum":7}""", -100_000, 7)]
    [InlineData("""{"type":"integer","minimum":100,"maximum":100}""", 100, 100)]
    public void Integer_bounds_are_digit_exact(string schema, int lo, int hi)
    {
        var g = Compile(schema);
        for (int v = -2500; v <= 2500; v++)
            Assert.True(Matches(g, v.ToString(CultureInfo.InvariantCulture)) == (v >= lo && v <= hi), $"{v}");
        Assert.False(Matches(g, "-0"));
        Assert.False(Matches(g, "007"));
        Assert.False(Matches(g, "1.0"));
    }

    [Theory]
    [InlineData("""{"type":"number","minimum":-1.25,"maximum":3.5}""", "-1.25", true, false, "3.5", true, false)]
    [InlineData("""{"type":"number","exclusiveMinimum":-1.25,"exclusiveMaximum":3.5}""", "-1.25", false, true, "3.5", false, true)]
    [InlineData("""{"type":"number","minimum":0.1,"maximum":0.3}""", "0.1", true, false, "0.3", true, false)]
    [InlineData("""{"type":"number","exclusiveMinimum":0,"maximum":2}""", "0", false, true, "2", true, false)]
    [InlineData("""{"type":"number","minimum":10}""", "10", true, false, "1e308", true, false)]
    public void Number_bounds_hold_for_every_generated_decimal(string schema, string lo, bool loIn, bool loEx, string hi, bool hiIn, bool hiEx)
    {
        _ = loIn; _ = hiIn;
        var g = Compile(schema);
        decimal min = decimal.Parse(lo, CultureInfo.InvariantCulture);
        decimal max = hi == "1e308" ? decimal.MaxValue : decimal.Parse(hi, CultureInfo.InvariantCulture);
        var random = new Random(7);
        for (int i = 0; i < 4000; i++)
        {
            decimal v = Math.Round((decimal)(random.NextDouble() * 30 - 12), random.Next(0, 4));
            string text = v.ToString(CultureInfo.InvariantCulture);
            if (text == "-0") continue;
            bool inside = (loEx ? v > min : v >= min) && (hiEx ? v < max : v <= max);
            Assert.True(inside == Matches(g, text), $"{text}");
        }
        // The bounds themselves, written with trailing zeros too.
        Assert.Equal(!loEx, Matches(g, lo));
        Assert.Equal(!loEx, Matches(g, lo.Contains('.') ? lo + "00" : lo + ".000"));
        if (hi != "1e308") Assert.Equal(!hiEx, Matches(g, hi));
        Assert.False(Matches(g, "1."));
        Assert.False(Matches(g, ".5"));
    }

    [Fact]
    public void Strings_count_characters_not_bytes_and_accept_every_json_escape_once()
    {
        var g = Compile("""{"type":"string","minLength":2,"maxLength":3}""");
        Assert.True(Matches(g, "\"ab\""));
        Assert.True(Matches(g, "\"😀é✓\""));
        Assert.True(Matches(g, "\"\\n\\u00e9\\\"\""));
        Assert.True(Matches(g, "\"\\ud83d\\ude00x\"")); // a surrogate pair is one character
        Assert.False(Matches(g, "\"a\""));
        Assert.False(Matches(g, "\"abcd\""));
        Assert.False(Matches(g, "\"\\ud800ab\"")); // lone surrogate
        Assert.False(Matches(g, "\"a\nb\"")); // raw control character
        Assert.False(Matches(g, "\"\\x41b\""));
    }

    [Theory]
    [InlineData("date", "2024-02-29", true)]
    [InlineData("date", "2023-02-29", false)]
    [InlineData("date", "2000-02-29", true)]
    [InlineData("date", "1900-02-29", false)]
    [InlineData("date", "2024-04-31", false)]
    [InlineData("time", "23:59:59.5+01:00", true)]
    [InlineData("time", "24:00:00Z", false)]
    [InlineData("date-time", "2024-01-31T12:00:00Z", true)]
    [InlineData("uuid", "123e4567-e89b-12d3-a456-426614174000", true)]
    [InlineData("uuid", "123e4567e89b12d3a456426614174000", false)]
    [InlineData("email", "first.last@mail.example.org", true)]
    [InlineData("email", "a..b@example.org", false)]
    [InlineData("uri", "https://example.com:8080/a/b%20c?x=1", true)]
    [InlineData("uri", "example.com", false)]
    [InlineData("ipv4", "192.168.0.255", true)]
    [InlineData("ipv4", "256.1.1.1", false)]
    [InlineData("ipv4", "01.1.1.1", false)]
    public void Formats_generate_only_valid_values(string format, string value, bool valid)
    {
        var g = Compile($$"""{"type":"string","format":"{{format}}"}""");
        Assert.Equal(valid, Matches(g, $"\"{value}\""));
    }

    [Fact]
    public void Pattern_and_length_are_enforced_together()
    {
        var g = Compile("""{"type":"string","pattern":"^[a-z]+[0-9]*$","maxLength":4}""");
        Assert.True(Matches(g, "\"ab12\""));
        Assert.False(Matches(g, "\"abc12\""));
        Assert.False(Matches(g, "\"12\""));
        var search = Compile("""{"type":"string","pattern":"x\\d"}""");
        Assert.True(Matches(search, "\"aax1bb\""));
        Assert.False(Matches(search, "\"aaxbb\""));
        var quote = Compile("""{"type":"string","pattern":"^[\"\\\\]+$"}""");
        Assert.True(Matches(quote, "\"\\\"\\\\\"")); // the characters " and \ appear escaped
    }

    [Fact]
    public void Objects_follow_schema_order_with_required_and_optional_members()
    {
        var g = Compile("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["b"],"additionalProperties":false}""");
        Assert.True(Matches(g, "{\"b\":\"x\"}"));
        Assert.True(Matches(g, "{\"a\":1,\"b\":\"x\",\"c\":true}"));
        Assert.True(Matches(g, "{\"b\":\"x\",\"c\":false}"));
        Assert.False(Matches(g, "{\"a\":1}"));
        Assert.False(Matches(g, "{\"b\":\"x\",\"a\":1}")); // schema order
        Assert.False(Matches(g, "{\"b\":\"x\",\"d\":1}"));
        Assert.False(Matches(g, "{ \"b\":\"x\"}")); // compact: no whitespace
        Assert.True(Matches(g, "{\"a\": 1, \"b\": \"x\"}")); // but json.dumps' one space after ':' and ','
        Assert.False(Matches(g, "{\"a\":  1,\"b\":\"x\"}"));
        Assert.False(Matches(g, "{\"a\":1,\n\"b\":\"x\"}"));
    }

    [Fact]
    public void Additional_properties_take_other_keys_only()
    {
        var g = Compile("""{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}""");
        Assert.True(Matches(g, "{\"a\":1,\"x\":true,\"y\":false}"));
        Assert.True(Matches(g, "{\"x\":true}"));
        Assert.False(Matches(g, "{\"a\":1,\"a\":true}"));
        Assert.False(Matches(g, "{\"x\":1}"));
        var free = Compile("""{"type":"object"}""");
        Assert.True(Matches(free, "{\"k\":[1,{\"z\":null}],\"s\":\"v\"}"));
        var closed = Compile("""{"type":"object","properties":{"a":{"type":"integer"}}}""");
        Assert.False(Matches(closed, "{\"x\":1}")); // undeclared keys only when additionalProperties says so
    }

    [Fact]
    public void Arrays_count_items_after_the_prefix()
    {
        var g = Compile("""{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":{"type":"boolean"},"minItems":1,"maxItems":4}""");
        Assert.True(Matches(g, "[\"a\"]"));
        Assert.True(Matches(g, "[\"a\",1,true,false]"));
        Assert.False(Matches(g, "[]"));
        Assert.False(Matches(g, "[\"a\",1,true,false,true]"));
        Assert.False(Matches(g, "[1]"));
        var tuple = Compile("""{"type":"array","items":[{"type":"integer"}],"additionalItems":false}""");
        Assert.True(Matches(tuple, "[1]"));
        Assert.False(Matches(tuple, "[1,2]"));
        var counted = Compile("""{"type":"array","items":{"type":"object","properties":{"k":{"enum":[1,2]}},"required":["k"]},"minItems":2,"maxItems":3}""");
        Assert.True(Matches(counted, "[{\"k\":1},{\"k\":2}]"));
        Assert.False(Matches(counted, "[{\"k\":1}]"));
    }

    [Fact]
    public void Recursive_references_nest()
    {
        var g = Compile("""{"$defs":{"n":{"type":"object","properties":{"v":{"type":"integer"},"k":{"type":"array","items":{"$ref":"#/$defs/n"}}},"required":["v"],"additionalProperties":false}},"$ref":"#/$defs/n"}""");
        Assert.True(Matches(g, "{\"v\":1,\"k\":[{\"v\":2,\"k\":[{\"v\":3}]},{\"v\":4}]}"));
        Assert.False(Matches(g, "{\"v\":1,\"k\":[{\"k\":[]}]}"));
        var old = Compile("""{"definitions":{"s":{"type":"string","maxLength":1}},"properties":{"a":{"$ref":"#/definitions/s"}},"required":["a"]}""");
        Assert.True(Matches(old, "{\"a\":\"x\"}"));
    }

    [Fact]
    public void Unions_enums_consts_and_nullables()
    {
        var g = Compile("""{"anyOf":[{"type":"integer","maximum":3},{"type":"string","maxLength":1}],"nullable":true}""");
        Assert.True(Matches(g, "3"));
        Assert.True(Matches(g, "\"a\""));
        Assert.False(Matches(g, "4"));
        var e = Compile("""{"enum":["a b",{"x":[1, 2]},null,1.50]}""");
        Assert.True(Matches(e, "{\"x\":[1,2]}"));
        Assert.True(Matches(e, "1.50"));
        Assert.True(Matches(e, "null"));
        var nullable = Compile("""{"type":"string","nullable":true,"maxLength":2}""");
        Assert.True(Matches(nullable, "null"));
        var types = Compile("""{"type":["boolean","null"]}""");
        Assert.True(Matches(types, "false"));
        Assert.False(Matches(types, "0"));
        Assert.True(Matches(Compile("""{"const":"fixed"}"""), "\"fixed\""));
    }

    [Fact]
    public void AllOf_merges_constraints_and_siblings_of_anyOf_apply_to_every_branch()
    {
        var g = Compile("""{"allOf":[{"type":"object","properties":{"a":{"type":"integer","minimum":0}},"required":["a"]},{"properties":{"a":{"maximum":5},"b":{"type":"boolean"}},"required":["b"]}]}""");
        Assert.True(Matches(g, "{\"a\":5,\"b\":true}"));
        Assert.False(Matches(g, "{\"a\":6,\"b\":true}"));
        Assert.False(Matches(g, "{\"a\":1}"));
        var s = Compile("""{"type":"object","properties":{"k":{"type":"integer"}},"required":["k"],"additionalProperties":false,"anyOf":[{"properties":{"k":{"maximum":0}}},{"properties":{"k":{"minimum":10}}}]}""");
        Assert.True(Matches(s, "{\"k\":-3}"));
        Assert.True(Matches(s, "{\"k\":12}"));
        Assert.False(Matches(s, "{\"k\":5}"));
    }

    [Theory]
    [InlineData("""{"type":"object","patternProperties":{"^x":{}}}""", "patternProperties")]
    [InlineData("""{"type":"integer","multipleOf":3}""", "multipleOf")]
    [InlineData("""{"properties":{"a":{"not":{"type":"string"}}}}""", "not")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "uniqueItems")]
    [InlineData("""{"$ref":"https://example.com/schema.json"}""", "$ref")]
    [InlineData("""{"type":"string","pattern":"(?=x)"}""", "pattern")]
    public void Strict_schemas_with_unsupported_keywords_fail_naming_the_keyword(string schema, string keyword)
    {
        var e = Assert.Throws<UnsupportedSchemaException>(() => Compile(schema, strict: true));
        Assert.StartsWith(keyword, e.Keyword);
        var loosened = new List<string>();
        var g = JsonSchemaCompiler.Compile(schema, new JsonSchemaOptions { Loosened = loosened.Add });
        Assert.NotNull(g);
        Assert.Contains(loosened, m => m.Contains(keyword.TrimStart('$'), StringComparison.Ordinal) || m.Contains("pattern", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"type":"string","minLength":3,"maxLength":2}""")]
    [InlineData("""{"type":"integer","minimum":5,"maximum":4}""")]
    [InlineData("""{"enum":[]}""")]
    public void Unsatisfiable_schemas_are_an_error(string schema)
    {
        Assert.Throws<GrammarException>(() => Compile(schema));
    }
}
