using Ganss.Xss;
using Markdig;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// Renders message text (Markdown from models, users and tools) as HTML that can neither run nor load anything:
/// Markdig with raw HTML disabled (it is shown as text), then HtmlSanitizer's allow-list (no script, no event
/// handlers, no <c>style</c>, no forms, SVG or MathML, links only to http, https and mailto and opened without a
/// referrer, no images: a transcript's Markdown image is dropped). The page's Content-Security-Policy is the second wall.
/// </summary>
public static class ConsoleMarkdown
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseAutoLinks().DisableHtml().Build();

    private static readonly HtmlSanitizer Sanitizer = CreateSanitizer();

    /// <summary>Markdown text longer than this is shown as plain text (rendering megabytes of tool output costs seconds).</summary>
    public const int MaxMarkdownChars = 200_000;

    /// <summary>Safe HTML for <paramref name="markdown"/>.</summary>
    public static string ToHtml(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        if (markdown.Length > MaxMarkdownChars)
        {
            return "<pre>" + System.Net.WebUtility.HtmlEncode(markdown) + "</pre>";
        }

        return Sanitizer.Sanitize(Markdown.ToHtml(markdown, Pipeline));
    }

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
