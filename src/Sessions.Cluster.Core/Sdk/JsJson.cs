using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// JSON the way JavaScript reads and writes it, so what the server reads equals what the SDK's <c>JSON.parse</c>
/// sees and what it writes equals the SDK's <c>JSON.stringify</c> byte for byte.
/// <list type="bullet">
/// <item><see cref="Parse"/>: a duplicate key keeps its first position and its last value; lone surrogates
/// (<c>"\ud800"</c>) are kept as they are (System.Text.Json refuses both when a node is read).</item>
/// <item><see cref="Stringify"/>: raw UTF-8, only <c>"</c>, <c>\</c> and control characters escaped (lone surrogates as
/// <c>\udxxx</c>, ES2019), key order kept, numbers in JavaScript's shortest form (<c>1.50</c> → <c>1.5</c>,
/// <c>1e21</c> → <c>1e+21</c>).</item>
/// </list>
/// </summary>
public static class JsJson
{
    // Lines nest at most EntryLimits.MaxDepth; an envelope around them adds a few levels.
    private const int MaxDepth = Storage.EntryLimits.MaxEnvelopeDepth;
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = MaxDepth, AllowDuplicateProperties = false };

    /// <summary>Parses one JSON text as <c>JSON.parse</c> would; null when it is not valid JSON.</summary>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8)
    {
        if (!HasSurrogateEscape(utf8))
        {
            try
            {
                return JsonNode.Parse(utf8, documentOptions: Strict);
            }
            catch (JsonException)
            {
                // A syntax error, or a duplicate key: the reader below tells them apart.
            }
        }

        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read())
            {
                return null;
            }

            var node = ReadValue(ref reader);
            return reader.Read() ? null : node;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The UTF-8 bytes <c>JSON.stringify(node)</c> produces.</summary>
    public static byte[] Stringify(JsonNode? node)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(node, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes <c>JSON.stringify(node)</c> to <paramref name="output"/>.</summary>
    public static void Write(JsonNode? node, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        switch (node)
        {
            case null:
                output.Write("null"u8);
                break;
            case JsonObject obj:
                output.Write("{"u8);
                var first = true;
                foreach (var (name, value) in obj)
                {
                    if (!first)
                    {
                        output.Write(","u8);
                    }

                    first = false;
                    WriteString(name, output);
                    output.Write(":"u8);
                    Write(value, output);
                }

                output.Write("}"u8);
                break;
            case JsonArray array:
                output.Write("["u8);
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    Write(array[i], output);
                }

                output.Write("]"u8);
                break;
            case JsonValue value:
                WriteValue(value, output);
                break;
        }
    }

    /// <summary>The JavaScript text of a number (<c>Number.prototype.toString</c>), e.g. <c>100</c>, <c>1.5</c>, <c>1e+21</c>, <c>1e-7</c>.</summary>
    public static string FormatNumber(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return "null";
        }

        if (value == 0)
        {
            return "0";
        }

        // The shortest round-trip digits, as JavaScript chooses them, then JavaScript's layout (ECMA-262 Number::toString).
        var (digits, exponent) = Decompose(Math.Abs(value).ToString("R", CultureInfo.InvariantCulture));
        var k = digits.Length;
        var n = exponent;
        var sign = value < 0 ? "-" : string.Empty;
        if (k <= n && n <= 21)
        {
            return sign + digits + new string('0', n - k);
        }

        if (0 < n && n <= 21)
        {
            return sign + digits[..n] + "." + digits[n..];
        }

        if (-6 < n && n <= 0)
        {
            return sign + "0." + new string('0', -n) + digits;
        }

        var e = n - 1;
        var exp = (e < 0 ? "-" : "+") + Math.Abs(e).ToString(CultureInfo.InvariantCulture);
        return k == 1 ? sign + digits + "e" + exp : sign + digits[0] + "." + digits[1..] + "e" + exp;
    }

    /// <summary>Decodes the inside of a JSON string literal (escapes resolved, lone surrogates kept, invalid UTF-8 as U+FFFD).</summary>
    public static string DecodeString(ReadOnlySpan<byte> escaped)
    {
        if (escaped.IndexOf((byte)'\\') < 0)
        {
            return Encoding.UTF8.GetString(escaped);
        }

        var sb = new StringBuilder(escaped.Length);
        while (!escaped.IsEmpty)
        {
            var bs = escaped.IndexOf((byte)'\\');
            if (bs < 0)
            {
                sb.Append(Encoding.UTF8.GetString(escaped));
                break;
            }

            sb.Append(Encoding.UTF8.GetString(escaped[..bs]));
            if (bs + 1 >= escaped.Length)
            {
                throw new JsonException("A string ends in the middle of an escape.");
            }

            var c = escaped[bs + 1];
            var used = 2;
            switch (c)
            {
                case (byte)'"': sb.Append('"'); break;
                case (byte)'\\': sb.Append('\\'); break;
                case (byte)'/': sb.Append('/'); break;
                case (byte)'b': sb.Append('\b'); break;
                case (byte)'f': sb.Append('\f'); break;
                case (byte)'n': sb.Append('\n'); break;
                case (byte)'r': sb.Append('\r'); break;
                case (byte)'t': sb.Append('\t'); break;
                case (byte)'u' when bs + 6 <= escaped.Length
                    && int.TryParse(Encoding.ASCII.GetString(escaped.Slice(bs + 2, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                    sb.Append((char)code);
                    used = 6;
                    break;
                default:
                    throw new JsonException("A string has an invalid escape.");
            }

            escaped = escaped[(bs + used)..];
        }

        return sb.ToString();
    }

    /// <summary>Writes a string as <c>JSON.stringify</c> quotes it.</summary>
    public static void WriteString(ReadOnlySpan<char> text, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write("\""u8);
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\b' => "\\b",
                '\f' => "\\f",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ when char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) => null,
                _ when char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1]) => null,
                _ when char.IsSurrogate(c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => null,
            };
            if (escape is null)
            {
                continue;
            }

            WriteUtf8(text[start..i], output);
            WriteUtf8(escape, output);
            start = i + 1;
        }

        WriteUtf8(text[start..], output);
        output.Write("\""u8);
    }

    private static void WriteUtf8(ReadOnlySpan<char> text, IBufferWriter<byte> output)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    // A value parsed from text keeps its JsonElement (raw text, escapes as sent); one built in code holds a CLR value.
    private static void WriteValue(JsonValue value, IBufferWriter<byte> output)
    {
        JsonElement? element = value.TryGetValue<JsonElement>(out var e) ? e : null;
        switch (element?.ValueKind ?? value.GetValueKind())
        {
            case JsonValueKind.String when element is { } parsed:
                var raw = Encoding.UTF8.GetBytes(parsed.GetRawText());
                var inner = raw.AsSpan(1, raw.Length - 2);
                if (inner.IndexOf((byte)'\\') < 0 && System.Text.Unicode.Utf8.IsValid(inner))
                {
                    output.Write(raw);
                }
                else
                {
                    WriteString(DecodeString(inner), output);
                }

                break;
            case JsonValueKind.String:
                WriteString(value.GetValue<string>(), output);
                break;
            case JsonValueKind.Number:
                WriteUtf8(FormatNumber(double.Parse(element?.GetRawText() ?? value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)), output);
                break;
            case JsonValueKind.True:
                output.Write("true"u8);
                break;
            case JsonValueKind.False:
                output.Write("false"u8);
                break;
            default:
                output.Write("null"u8);
                break;
        }
    }

    // Digits without leading or trailing zeros, and the decimal exponent n with value = 0.digits × 10^n.
    private static (string Digits, int Exponent) Decompose(string text)
    {
        var e = text.IndexOf('E', StringComparison.Ordinal);
        var mantissa = e >= 0 ? text[..e] : text;
        var exp = e >= 0 ? int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var fracPart = dot >= 0 ? mantissa[(dot + 1)..] : string.Empty;
        var all = intPart + fracPart;
        var n = intPart.Length + exp;
        var lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0')
        {
            lead++;
        }

        all = all[lead..];
        n -= lead;
        return (all.TrimEnd('0') is { Length: > 0 } d ? d : "0", n);
    }

    private static bool HasSurrogateEscape(ReadOnlySpan<byte> utf8)
    {
        for (var at = utf8.IndexOf("\\u"u8); at >= 0 && at + 3 < utf8.Length; at = NextEscape(utf8, at))
        {
            var d = utf8[at + 2] | 0x20;
            var x = utf8[at + 3] | 0x20;
            if (d == 'd' && x is >= '8' and <= '9' or >= 'a' and <= 'f')
            {
                return true;
            }
        }

        return false;
    }

    private static int NextEscape(ReadOnlySpan<byte> utf8, int at)
    {
        var next = utf8[(at + 2)..].IndexOf("\\u"u8);
        return next < 0 ? -1 : at + 2 + next;
    }

    private static JsonNode? ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsonObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = DecodeString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
                    reader.Read();
                    var child = ReadValue(ref reader);
                    // JSON.parse: a repeated key keeps its first position and takes the last value.
                    obj[name] = child;
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new JsonArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Add(ReadValue(ref reader));
                }

                return array;
            case JsonTokenType.String:
                return JsonValue.Create(DecodeString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan));
            case JsonTokenType.Number:
                using (var doc = JsonDocument.Parse(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray()))
                {
                    return JsonValue.Create(doc.RootElement.Clone());
                }

            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }
}
