using System.Net;
using System.Net.Sockets;

namespace Sessions.Cluster.Testing;

/// <summary>Free loopback ports and waiting for a server to accept connections.</summary>
public static class LocalPorts
{
    /// <summary>
    /// How long a test waits for a server it started (Azurite, a node process) to listen: 180 s, or
    /// <c>SESSIONS_TEST_START_TIMEOUT</c> seconds. A start on a loaded two-core machine can take well over a minute;
    /// a wait ends as soon as the server listens (a node's also when its process exits), so it costs nothing when all
    /// goes well.
    /// </summary>
    public static TimeSpan StartTimeout { get; } = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("SESSIONS_TEST_START_TIMEOUT"), out var seconds) && seconds > 0 ? seconds : 180);

    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until something accepts TCP connections on the port, or throws after <paramref name="timeout"/>.</summary>
    public static async Task WaitListeningAsync(int port, TimeSpan timeout, Func<string>? diagnostics = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        throw new TimeoutException($"Nothing listened on 127.0.0.1:{port} within {timeout}. {diagnostics?.Invoke()}");
    }
}
