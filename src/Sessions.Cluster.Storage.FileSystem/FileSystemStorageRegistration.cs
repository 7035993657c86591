using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Telemetry;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Registers the file-system transcript store, as Orleans' storage providers register themselves.</summary>
public static class FileSystemStorageRegistration
{
    /// <summary>
    /// Registers <see cref="ITranscriptStore"/> as JSONL files under <see cref="FileSystemTranscriptStoreOptions.Root"/>
    /// (instrumented as <c>filesystem</c>), with its options checked when the host starts; its clock is the container's
    /// <see cref="StoreClock"/>, else the system's.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Binds or sets the options (<c>o =&gt; o.BindConfiguration("…")</c> or <c>o.Configure(…)</c>).</param>
    /// <exception cref="OptionsValidationException">At start: <see cref="FileSystemTranscriptStoreOptions.Root"/> is empty.</exception>
    public static IServiceCollection AddFileSystemTranscriptStore(this IServiceCollection services, Action<OptionsBuilder<FileSystemTranscriptStoreOptions>>? configure = null)
    {
        var options = services.AddOptions<FileSystemTranscriptStoreOptions>();
        configure?.Invoke(options);
        options.Validate(o => !string.IsNullOrWhiteSpace(o.Root), "The file-system transcript store needs a folder (FileSystemTranscriptStoreOptions.Root is empty).").ValidateOnStart();
        services.AddSingleton<ITranscriptStore>(sp => new InstrumentedTranscriptStore(
            new FileSystemTranscriptStore(sp.GetRequiredService<IOptions<FileSystemTranscriptStoreOptions>>().Value, sp.GetService<StoreClock>()?.Time ?? TimeProvider.System),
            "filesystem"));
        return services;
    }
}
