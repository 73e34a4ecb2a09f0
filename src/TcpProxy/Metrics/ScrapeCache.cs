using System;

namespace TcpProxy.Metrics;

/// <summary>
/// The 200 answer to /metrics, rendered at most once per
/// <see cref="IntervalMs"/> and served as it is to every scrape (GET or HEAD)
/// within it: however many clients scrape however often, the loop renders
/// the series and reads /proc at most once a second. The array is never
/// written after it is built, so scrapes still sending an older one are safe.
/// </summary>
internal sealed class ScrapeCache
{
    public const long IntervalMs = 1000;

    private readonly Func<string> _render;
    private byte[]? _response;
    private int _headLength;
    private long _renderedMs;

    public ScrapeCache(Func<string> render) => _render = render;

    /// <summary>The response as of at most <see cref="IntervalMs"/> before <paramref name="nowMs"/>; its head alone answers HEAD.</summary>
    public byte[] Response(long nowMs, out int headLength)
    {
        if (_response is null || nowMs - _renderedMs >= IntervalMs)
        {
            _response = HttpResponse.Build("200 OK", PrometheusWriter.ContentType, _render(), out _headLength);
            _renderedMs = nowMs;
        }
        headLength = _headLength;
        return _response;
    }
}
