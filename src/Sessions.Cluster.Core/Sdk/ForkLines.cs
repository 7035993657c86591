using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// Serializes a forked entry (built by <see cref="ForkBuilder"/> in place on its parsed parent line) without walking
/// the whole entry: the properties the fork did not touch are copied as bytes from the parent's line, the ones it set
/// are written as <c>JSON.stringify</c> would. The result is byte for byte <see cref="JsJson.Stringify"/> of the entry,
/// which requires the parent's line to be in the form <c>JSON.stringify</c> writes (no whitespace between tokens,
/// only its escapes, numbers in JavaScript's shortest form); any other line is stringified from the entry instead.
/// </summary>
/// <remarks>
/// Claude Code and the SDK write their transcripts with <c>JSON.stringify</c>, so nearly every stored line qualifies.
/// Appends keep an entry's bytes as sent, and refuse a repeated key, which this relies on too.
/// </remarks>
public static class ForkLines
{
    /// <summary>
    /// The line of <paramref name="entry"/> (a forked entry) whose untouched properties are those of
    /// <paramref name="source"/>, the parent's line it was parsed from.
    /// </summary>
    public static byte[] Write(JsonObject entry, ReadOnlySpan<byte> source)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!IsCanonical(source))
        {
            return JsJson.Stringify(entry);
        }

        var output = new ArrayBufferWriter<byte>(source.Length + 512);
        var reader = new Utf8JsonReader(source, Storage.EntryLimits.LineReaderOptions);
        reader.Read();
        output.Write("{"u8);
        var first = true;
        foreach (var (name, value) in entry)
        {
            if (!first)
            {
                output.Write(","u8);
            }

            first = false;
            if (ForkBuilder.EditedFields.Contains(name))
            {
                JsJson.WriteString(name, output);
                output.Write(":"u8);
                JsJson.Write(value, output);
                continue;
            }

            // An untouched property: the next one of the parent's line with this name (the fork removes or sets
            // others, and adds its own only after the parent's, so the order is the same).
            if (!CopyNext(ref reader, name, source, output))
            {
                return JsJson.Stringify(entry);
            }
        }

        output.Write("}"u8);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Whether a JSON text is exactly what <c>JSON.stringify(JSON.parse(text))</c> gives back (for text without a
    /// repeated key): valid UTF-8, no whitespace outside strings, only the escapes <c>JSON.stringify</c> writes, and
    /// numbers it would write the same. False for anything it cannot tell cheaply (it may say no to a canonical text).
    /// </summary>
    public static bool IsCanonical(ReadOnlySpan<byte> json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            return false;
        }

        var i = 0;
        while (i < json.Length)
        {
            var b = json[i];
            if (b == (byte)'"')
            {
                i = StringEnd(json, i + 1);
                if (i < 0)
                {
                    return false;
                }
            }
            else if (b is (byte)'-' or >= (byte)'0' and <= (byte)'9')
            {
                i = NumberEnd(json, i);
                if (i < 0)
                {
                    return false;
                }
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                return false;
            }
            else
            {
                i++;
            }
        }

        return true;
    }

    // Moves the reader to the next property of the parent's object named `name` and copies `"name":value`.
    private static bool CopyNext(ref Utf8JsonReader reader, string name, ReadOnlySpan<byte> source, ArrayBufferWriter<byte> output)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var start = (int)reader.TokenStartIndex;
            var match = reader.ValueTextEquals(name);
            reader.Read();
            reader.Skip();
            if (match)
            {
                output.Write(source[start..(int)reader.BytesConsumed]);
                return true;
            }
        }

        return false;
    }

    // Index after the closing quote of a string whose body starts at `i`, or -1 when it holds an escape JSON.stringify
    // would not write (it writes \" \\ \b \f \n \r \t literally, other control characters as \u00xx in lower case, and
    // everything else as is; lone surrogates as \udxxx, which are left to the slow path here).
    private static int StringEnd(ReadOnlySpan<byte> json, int i)
    {
        while (true)
        {
            var at = json[i..].IndexOfAny((byte)'"', (byte)'\\');
            if (at < 0)
            {
                return -1;
            }

            i += at;
            if (json[i] == (byte)'"')
            {
                return i + 1;
            }

            if (i + 1 >= json.Length)
            {
                return -1;
            }

            switch (json[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u' when i + 5 < json.Length && json[i + 2] == (byte)'0' && json[i + 3] == (byte)'0'
                    && json[i + 4] is (byte)'0' or (byte)'1' && IsLowerHex(json[i + 5])
                    && !(json[i + 4] == (byte)'0' && json[i + 5] is (byte)'8' or (byte)'9' or (byte)'a' or (byte)'c' or (byte)'d'):
                    i += 6;
                    break;
                default:
                    return -1;
            }
        }
    }

    private static bool IsLowerHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f';

    // Index after a number starting at `i` written as JavaScript's Number#toString would write it, or -1: an optional
    // minus, an integer part without leading zeros, an optional fraction not ending in 0, no exponent, at most 15
    // significant digits (so the double it parses to prints back the same), not -0, not below 1e-6 in magnitude.
    private static int NumberEnd(ReadOnlySpan<byte> json, int i)
    {
        var start = i;
        if (json[i] == (byte)'-')
        {
            i++;
        }

        var intStart = i;
        while (i < json.Length && json[i] is >= (byte)'0' and <= (byte)'9')
        {
            i++;
        }

        var intDigits = i - intStart;
        if (intDigits == 0 || (intDigits > 1 && json[intStart] == (byte)'0'))
        {
            return -1;
        }

        var zeroInt = intDigits == 1 && json[intStart] == (byte)'0';
        var significant = zeroInt ? 0 : intDigits;
        if (i < json.Length && json[i] == (byte)'.')
        {
            i++;
            var fracStart = i;
            while (i < json.Length && json[i] is >= (byte)'0' and <= (byte)'9')
            {
                i++;
            }

            if (i == fracStart || json[i - 1] == (byte)'0')
            {
                return -1;
            }

            var fraction = json[fracStart..i];
            if (zeroInt)
            {
                var leadingZeros = fraction.IndexOfAnyExcept((byte)'0');
                if (leadingZeros > 5)
                {
                    return -1;
                }

                significant = fraction.Length - leadingZeros;
            }
            else
            {
                significant += fraction.Length;
            }
        }
        else if (zeroInt && json[start] == (byte)'-')
        {
            return -1;
        }

        if (i < json.Length && json[i] is (byte)'e' or (byte)'E')
        {
            return -1;
        }

        return significant <= 15 ? i : -1;
    }
}
