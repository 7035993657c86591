using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Registers grain state in files, as Orleans' storage providers register themselves (<c>AddAzureBlobGrainStorage</c>).</summary>
public static class FileGrainStorageRegistration
{
    /// <summary>Registers file grain storage as the silo's default grain storage provider.</summary>
    /// <param name="builder">The silo.</param>
    /// <param name="configure">Sets the options (<see cref="FileGrainStorageOptions.Root"/> is required).</param>
    /// <exception cref="OptionsValidationException">At start: <see cref="FileGrainStorageOptions.Root"/> is empty.</exception>
    public static ISiloBuilder AddFileGrainStorageAsDefault(this ISiloBuilder builder, Action<FileGrainStorageOptions> configure) =>
        builder.AddFileGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configure);

    /// <summary>
    /// Registers file grain storage as the provider <paramref name="name"/> (options named the same), serializing
    /// states with the silo's <see cref="IGrainStorageSerializer"/>.
    /// </summary>
    /// <param name="builder">The silo.</param>
    /// <param name="name">The provider's name (<c>[PersistentState(…, storageName)]</c>).</param>
    /// <param name="configure">Sets the options (<see cref="FileGrainStorageOptions.Root"/> is required).</param>
    /// <exception cref="OptionsValidationException">At start: <see cref="FileGrainStorageOptions.Root"/> is empty.</exception>
    public static ISiloBuilder AddFileGrainStorage(this ISiloBuilder builder, string name, Action<FileGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<FileGrainStorageOptions>(name).Configure(configure)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Root), $"File grain storage '{name}' needs a folder (FileGrainStorageOptions.Root is empty).")
            .ValidateOnStart();
        builder.Services.AddGrainStorage(name, (sp, n) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<FileGrainStorageOptions>>().Get(n);
            return new FileGrainStorage(options.Root, sp.GetRequiredService<IGrainStorageSerializer>(), options.FlushToDisk);
        });
        return builder;
    }
}
