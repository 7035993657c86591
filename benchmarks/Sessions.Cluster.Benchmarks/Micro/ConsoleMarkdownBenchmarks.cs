using System.Text;
using BenchmarkDotNet.Attributes;
using Sessions.Cluster.Server.Console;

namespace Sessions.Cluster.Benchmarks.Micro;

/// <summary>
/// The web console's Markdown work for one page of 100 assistant messages: a typical page (the baseline) against the
/// costliest texts a writer can store (issue 22: one 64 K table took 5–7 s, a page of ten of them 47 s). Each page gets
/// one <see cref="MarkdownBudget"/>, as a rendered page does.
/// </summary>
[MemoryDiagnoser]
public class ConsoleMarkdownBenchmarks
{
    private readonly string _typical = Typical();
    private readonly string _pipes = Repeat("a|b\n-|-\n", "|", 64_000);
    private readonly string _links = Repeat("", "[a](", ConsoleMarkdown.MaxMarkdownChars);
    private readonly string _table = Repeat("| a | b | c |\n|---|---|---|\n", "| x | y | z |\n", ConsoleMarkdown.MaxMarkdownChars);
    private readonly string _quotes = new('>', 128);

    [Benchmark(Baseline = true)]
    public int TypicalPage() => Page(_typical);

    [Benchmark]
    public int PageOf64KPipeTables() => Page(_pipes);

    [Benchmark]
    public int PageOfLinkOpeners() => Page(_links);

    [Benchmark]
    public int PageOf20KTables() => Page(_table);

    [Benchmark]
    public int PageOfDeepQuotes() => Page(_quotes);

    private static int Page(string text)
    {
        var budget = new MarkdownBudget();
        var length = 0;
        for (var i = 0; i < 100; i++)
        {
            length += ConsoleMarkdown.Render(text, budget).Html.Length;
        }

        return length;
    }

    private static string Repeat(string head, string unit, int length)
    {
        var text = new StringBuilder(head);
        while (text.Length + unit.Length <= length)
        {
            text.Append(unit);
        }

        return text.ToString();
    }

    // An assistant answer of the usual shape: a heading, prose with inline code and a link, a list, a code block.
    private static string Typical()
    {
        var text = new StringBuilder("## What changed\n\n");
        for (var i = 0; i < 6; i++)
        {
            text.Append("The `SessionGrain` now keeps **its own** state; see [the design](https://example.com/design) for why. ");
        }

        text.Append("\n\n- one\n- two with `code`\n- three\n\n```csharp\nvar x = await grain.Append(command);\n```\n");
        return text.ToString();
    }
}
