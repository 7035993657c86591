using Sessions.Cluster.Core;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// The request body bytes one node may hold at once (<c>Sessions:MaxBodyBytesInFlight</c>). A request reserves its
/// body's size before reading it and returns it when the response is done; a reservation that would pass the budget
/// is refused with 429 <c>server_busy</c> (the problem handler adds Retry-After: 1), so concurrent large batches cannot grow a node's memory
/// without bound. A single body larger than the whole budget is still admitted when nothing else is in flight.
/// </summary>
internal sealed class BodyBudget(long capacity)
{
    private long _inFlight;

    /// <summary>Bytes reserved now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Reserves <paramref name="bytes"/> until <paramref name="context"/>'s response completes.</summary>
    /// <exception cref="LimitExceededException">The budget is spent (429 <c>server_busy</c>).</exception>
    public void Reserve(HttpContext context, long bytes)
    {
        while (true)
        {
            var current = Interlocked.Read(ref _inFlight);
            if (current > 0 && current + bytes > capacity)
            {
                throw new LimitExceededException("server_busy", $"This node is reading {current} bytes of request bodies; {bytes} more would pass its budget of {capacity}. Retry shortly.", StatusCodes.Status429TooManyRequests, capacity, current);
            }

            if (Interlocked.CompareExchange(ref _inFlight, current + bytes, current) == current)
            {
                context.Response.RegisterForDispose(new Release(this, bytes));
                return;
            }
        }
    }

    private sealed class Release(BodyBudget budget, long bytes) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Add(ref budget._inFlight, -bytes);
            }
        }
    }
}
