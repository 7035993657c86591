using System.Diagnostics;
using System.Net;
using Ganss.Xss;
using Markdig;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// Renders message text (Markdown from models, users and tools) as HTML that can neither run nor load anything:
/// Markdig with raw HTML disabled (it is shown as text), then HtmlSanitizer's allow-list (no script, no event
/// handlers, no <c>style</c>, no forms, SVG or MathML, links only to http, https and mailto and opened without a
/// referrer, no images: a transcript's Markdown image is dropped). The page's Content-Security-Policy is the second wall.
/// </summary>
/// <remarks>
/// Rendering is bounded, since any writer of a session chooses its text: a message longer than
/// <see cref="MaxMarkdownChars"/>, one Markdig refuses (nesting past its depth limit, e.g. 128 <c>&gt;</c>), one whose
/// HTML would be more than <see cref="MaxExpansion"/> times its text (a 64 K row of empty table cells is 1.3 MB of HTML
/// and seconds of sanitizing) and every message after a page has spent <see cref="MarkdownBudget.PageTime"/> rendering
/// are shown as plain text, with a note saying why. Measured on this machine (2 cores): 32 K characters of <c>[a](</c>
/// take Markdig ~0.5 s (it is quadratic there), 64 K of table pipes ~18 s before these bounds.
/// </remarks>
public static class ConsoleMarkdown
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseAutoLinks().DisableHtml().Build();

    private static readonly HtmlSanitizer Sanitizer = CreateSanitizer();

    /// <summary>Markdown text longer than this (characters) is shown as plain text.</summary>
    public const int MaxMarkdownChars = 20_000;

    /// <summary>Markdown whose HTML is more than this many times its length (plus 4 K) is shown as plain text.</summary>
    public const int MaxExpansion = 8;

    /// <summary>Safe HTML for <paramref name="markdown"/>, within a budget of its own.</summary>
    public static string ToHtml(string markdown) => Render(markdown, new MarkdownBudget()).Html;

    /// <summary>
    /// Safe HTML for <paramref name="markdown"/>: rendered Markdown, or the text as <c>&lt;pre&gt;</c> with the reason
    /// it is plain (see the remarks). Never throws for any text.
    /// </summary>
    /// <param name="markdown">The message's text.</param>
    /// <param name="budget">The page's rendering budget, charged with the time this call takes.</param>
    public static RenderedMarkdown Render(string markdown, MarkdownBudget budget)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        ArgumentNullException.ThrowIfNull(budget);
        if (markdown.Length > MaxMarkdownChars)
        {
            return Plain(markdown, $"longer than {MaxMarkdownChars:N0} characters");
        }

        if (budget.Spent)
        {
            return Plain(markdown, "this page's time for formatting is spent");
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            string html;
            try
            {
                html = Markdown.ToHtml(markdown, Pipeline);
            }
            catch (ArgumentException)
            {
                // Markdig's own guard: "Markdown elements in the input are too deeply nested".
                return Plain(markdown, "nested too deeply for Markdown");
            }

            if (html.Length > (MaxExpansion * (long)markdown.Length) + 4096)
            {
                return Plain(markdown, "too much formatting");
            }

            return new RenderedMarkdown(Sanitizer.Sanitize(html), null);
        }
        finally
        {
            budget.Charge(Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// <paramref name="html"/> (from <see cref="Render"/>) with every occurrence of <paramref name="query"/> in its text,
    /// ignoring case, wrapped in <c>&lt;mark&gt;</c>: the text nodes are found and split by AngleSharp (the sanitizer's
    /// parser), so a hit never cuts a tag or an entity and nothing else of the markup changes.
    /// </summary>
    /// <param name="html">Safe HTML.</param>
    /// <param name="query">The search text; null or empty leaves the HTML as it is.</param>
    public static string MarkHits(string html, string? query)
    {
        ArgumentNullException.ThrowIfNull(html);
        if (string.IsNullOrEmpty(query) || html.IndexOf(query, StringComparison.OrdinalIgnoreCase) < 0 && !query.Any(c => c is '&' or '<' or '>' or '"' or '\u00A0'))
        {
            return html;
        }

        var parser = new AngleSharp.Html.Parser.HtmlParser();
        using var document = parser.ParseDocument("");
        var body = document.Body!;
        body.InnerHtml = html;
        var texts = new List<AngleSharp.Dom.IText>();
        Collect(body, texts);
        foreach (var text in texts)
        {
            var value = text.Data;
            var at = value.IndexOf(query, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                continue;
            }

            var parent = text.Parent!;
            var from = 0;
            for (; at >= 0; at = value.IndexOf(query, from, StringComparison.OrdinalIgnoreCase))
            {
                parent.InsertBefore(document.CreateTextNode(value[from..at]), text);
                var mark = document.CreateElement("mark");
                mark.TextContent = value.Substring(at, query.Length);
                parent.InsertBefore(mark, text);
                from = at + query.Length;
            }

            text.Data = value[from..];
        }

        return body.InnerHtml;

        static void Collect(AngleSharp.Dom.INode node, List<AngleSharp.Dom.IText> into)
        {
            foreach (var child in node.ChildNodes)
            {
                if (child is AngleSharp.Dom.IText text)
                {
                    into.Add(text);
                }
                else
                {
                    Collect(child, into);
                }
            }
        }
    }

    private static RenderedMarkdown Plain(string text, string reason) =>
        new($"<pre class=\"plain\">{WebUtility.HtmlEncode(text)}</pre>", reason);

    private static HtmlSanitizer CreateSanitizer()
    {
        var sanitizer = new HtmlSanitizer();
        sanitizer.AllowedSchemes.Clear();
        foreach (var scheme in new[] { "http", "https", "mailto" })
        {
            sanitizer.AllowedSchemes.Add(scheme);
        }

        foreach (var tag in new[] { "img", "style", "form", "input", "button", "textarea", "select", "svg", "math" })
        {
            sanitizer.AllowedTags.Remove(tag);
        }

        sanitizer.AllowedAttributes.Remove("style");
        sanitizer.AllowedCssProperties.Clear();
        sanitizer.AllowDataAttributes = false;
        sanitizer.PostProcessNode += (_, e) =>
        {
            if (e.Node is AngleSharp.Html.Dom.IHtmlAnchorElement anchor)
            {
                anchor.SetAttribute("rel", "noopener noreferrer nofollow");
            }
        };
        return sanitizer;
    }
}

/// <summary>One message's HTML, and why it is plain text when it is (null when it is rendered Markdown).</summary>
/// <param name="Html">Safe HTML.</param>
/// <param name="PlainReason">Why the text is shown as plain text, for the note beside it.</param>
public sealed record RenderedMarkdown(string Html, string? PlainReason);

/// <summary>
/// The time one page may spend turning Markdown into HTML (<see cref="PageTime"/>); once spent, the page's remaining
/// messages are plain text. One per rendered page; not thread-safe (a page renders on one thread).
/// </summary>
public sealed class MarkdownBudget
{
    /// <summary>The time one page may spend on Markdown.</summary>
    public static readonly TimeSpan PageTime = TimeSpan.FromMilliseconds(500);

    private TimeSpan _used;

    /// <summary>Whether the page's time is spent.</summary>
    public bool Spent => _used >= PageTime;

    /// <summary>Adds the time one message took.</summary>
    public void Charge(TimeSpan elapsed) => _used += elapsed;
}
