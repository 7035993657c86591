using Microsoft.Extensions.Configuration;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The server's settings are one options type bound once (issue 23 §5): the documented keys are its properties' paths,
/// values convert or fail naming their key, defaults hold without configuration.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SessionsOptionsTests
{
    private static SessionsOptions Bind(params (string Key, string Value)[] settings) =>
        SessionsOptions.From(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public async Task TheConfigurationFiles_AreReadOnce_SoNoWatcherWakesForEveryNewTranscript()
    {
        // Reloading appsettings.json on change watches the whole content root, which holds the default data folder.
        var data = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", "config-" + Guid.NewGuid().ToString("N"));
        await using var app = SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Sessions:DataDir", data]);
        var files = ((IConfigurationRoot)app.Configuration).Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, f.Source.Path));
    }

    [Fact]
    public void Keys_AreThePropertyPathsOfTheOptions_SectionsIncluded()
    {
        Assert.Contains("Sessions:Mode", SessionsOptions.Keys);
        Assert.Contains("Sessions:Orleans:AdvertisedAddress", SessionsOptions.Keys);
        Assert.Contains("Sessions:Retention:HoldTags", SessionsOptions.Keys);
        Assert.Contains("Sessions:Limits:RequestsPerMinute", SessionsOptions.Keys);
        Assert.Contains("Sessions:Auth:ConsoleSignInLifetime", SessionsOptions.Keys);
        Assert.DoesNotContain("Sessions:Auth:KeysRequired", SessionsOptions.Keys);
        Assert.DoesNotContain("Sessions:Orleans", SessionsOptions.Keys);
        Assert.Equal(SessionsOptions.Keys.Count, SessionsOptions.Keys.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void Values_Bind_ModeIgnoresCase_AndUnsetValuesKeepTheirDefaults()
    {
        var options = Bind(("Sessions:Mode", "Cluster"), ("Sessions:Orleans:SiloPort", "12000"), ("Sessions:ShutdownTimeout", "00:00:05"), ("Sessions:Limits:MaxSessions", "10"));
        Assert.Equal(DeploymentMode.Cluster, options.Mode);
        Assert.Equal(12000, options.Orleans.SiloPort);
        Assert.Null(options.Orleans.GatewayPort);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ShutdownTimeout);
        Assert.Equal(10, options.Limits.MaxSessions);
        Assert.Equal("sessions", options.Orleans.ClusterId);
        Assert.Equal(DeploymentMode.Embedded, Bind().Mode);
        Assert.Equal(".data", Bind().DataDir);
    }

    [Theory]
    [InlineData("Sessions:Mode", "clutser")]
    [InlineData("Sessions:Orleans:SiloPort", "eleven")]
    [InlineData("Sessions:ShutdownTimeout", "soon")]
    public void AValueThatDoesNotConvert_FailsNamingItsKey(string key, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Bind((key, value)));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
