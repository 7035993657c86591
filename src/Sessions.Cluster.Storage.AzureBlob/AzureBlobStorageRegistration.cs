using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Telemetry;

namespace Sessions.Cluster.Storage.AzureBlob;

/// <summary>Registers the Azure append-blob transcript store, as Orleans' storage providers register themselves.</summary>
public static partial class AzureBlobStorageRegistration
{
    /// <summary>
    /// Registers <see cref="ITranscriptStore"/> as Azure append blobs (instrumented as <c>azureblob</c>), with its options
    /// checked when the host starts; its clock is the container's <see cref="StoreClock"/>, else the system's.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Binds or sets the options (<c>o =&gt; o.BindConfiguration("…")</c> or <c>o.Configure(…)</c>).</param>
    /// <exception cref="OptionsValidationException">At start: no connection string, a container name Azure refuses, or
    /// blocks per segment outside 1–50,000.</exception>
    public static IServiceCollection AddAzureBlobTranscriptStore(this IServiceCollection services, Action<OptionsBuilder<AzureBlobOptions>>? configure = null)
    {
        var options = services.AddOptions<AzureBlobOptions>();
        configure?.Invoke(options);
        options
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "The Azure Blob transcript store needs a connection string (AzureBlobOptions.ConnectionString is empty).")
            .Validate(o => ContainerName().IsMatch(o.Container ?? ""), "AzureBlobOptions.Container must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.")
            .Validate(o => o.MaxBlocksPerSegment is > 0 and <= 50_000, "AzureBlobOptions.MaxBlocksPerSegment must be 1 to 50,000 (the service's limit of blocks per append blob).")
            .ValidateOnStart();
        services.AddSingleton<ITranscriptStore>(sp => new InstrumentedTranscriptStore(
            new AzureBlobTranscriptStore(sp.GetRequiredService<IOptions<AzureBlobOptions>>().Value, sp.GetService<StoreClock>()?.Time ?? TimeProvider.System),
            "azureblob"));
        return services;
    }

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex ContainerName();
}
