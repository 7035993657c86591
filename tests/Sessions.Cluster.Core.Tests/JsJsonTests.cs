using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Core.Tests;

/// <summary>JSON.parse / JSON.stringify equivalence (the real SDK's bytes are compared in Server.Tests).</summary>
[Trait("Category", "Unit")]
public sealed class JsJsonTests
{
    [Theory]
    [InlineData(1.0, "1")]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.0, "0")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(1.5e-7, "1.5e-7")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(123456789012345680000.0, "123456789012345680000")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5e30, "-2.5e+30")]
    public void FormatNumber_MatchesJavaScript(double value, string expected) => Assert.Equal(expected, JsJson.FormatNumber(value));

    [Theory]
    [InlineData("""{"a":"\u003c\u0022x\u0022\u003e","b":1.50}""", """{"a":"<\"x\">","b":1.5}""")]
    [InlineData("""{"e":"caf\u00e9 \/ \ud83d\ude00 \u2028"}""", "{\"e\":\"café / 😀 \u2028\"}")]
    [InlineData("""{"lone":"x\ud800y","ctl":"\u0001\b"}""", """{"lone":"x\ud800y","ctl":"\u0001\b"}""")]
    [InlineData("""{"k":1,"j":2,"k":3}""", """{"k":3,"j":2}""")]
    [InlineData("""[ true , null , "a" ]""", """[true,null,"a"]""")]
    public void ParseThenStringify_EqualsJavaScript(string input, string expected)
    {
        var node = JsJson.Parse(Encoding.UTF8.GetBytes(input));
        Assert.Equal(expected, Encoding.UTF8.GetString(JsJson.Stringify(node)));
    }

    [Fact]
    public void Parse_DuplicateKeyAndLoneSurrogate_AreReadableNodes()
    {
        var node = (JsonObject)JsJson.Parse("""{"type":"user","type":"assistant","t":"\udc00"}"""u8)!;
        Assert.Equal("assistant", JsText.Str(node, "type"));
        Assert.Equal("\udc00", JsText.Str(node, "t"));
        Assert.Null(JsJson.Parse("{\"a\":"u8));
    }
}
