using Microsoft.Extensions.Hosting;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// Renders one small Markdown text as the node starts, so the first page a person opens does not pay for loading and
/// compiling Markdig and HtmlSanitizer out of its <see cref="MarkdownBudget.PageTime"/>: on a busy 2-core machine that
/// first call alone can spend the page's second, and every message of the page is then shown as plain text.
/// </summary>
internal sealed class ConsoleMarkdownWarmup : IHostedService
{
    private const string Sample = "# Title\n\n> *quoted* **text** with `code` and [a link](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- item\n";

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.Run(() => ConsoleMarkdown.ToHtml(Sample), cancellationToken);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
