using System;

namespace TcpProxy.Metrics;

/// <summary>What to answer to the bytes of a request received so far.</summary>
public enum HttpVerdict
{
    /// <summary>The head is not complete yet: read on.</summary>
    Incomplete,
    Metrics,
    /// <summary>HEAD /metrics: the 200 headers without the body.</summary>
    MetricsHeadersOnly,
    /// <summary>GET /readyz: 200 while the proxy accepts, 503 once it drains.</summary>
    Ready,
    ReadyHeadersOnly,
    /// <summary>GET /livez: answered by the loop itself, so an answer proves it turns.</summary>
    Live,
    LiveHeadersOnly,
    NotFound,
    MethodNotAllowed,
    /// <summary>Malformed, not HTTP/1.x, or larger than <see cref="HttpRequestHead.MaxBytes"/>.</summary>
    BadRequest,
}

/// <summary>
/// Judges an HTTP/1.x request head, strictly and without allocating: a
/// request line "METHOD /path HTTP/1.x", header lines "Name: value", an empty
/// line. Anything else - control bytes, a missing part, more than MaxBytes -
/// is a bad request, found as early as possible.
/// </summary>
public static class HttpRequestHead
{
    public const int MaxBytes = 4096;

    public static HttpVerdict Judge(ReadOnlySpan<byte> received)
    {
        foreach (byte b in received)
        {
            if ((b < 0x20 && b != (byte)'\r' && b != (byte)'\n' && b != (byte)'\t') || b >= 0x7f)
                return HttpVerdict.BadRequest;
        }
        int end = EndOfHead(received);
        if (end < 0)
            return received.Length >= MaxBytes ? HttpVerdict.BadRequest : HttpVerdict.Incomplete;
        ReadOnlySpan<byte> head = received[..end];
        int lineEnd = head.IndexOf((byte)'\n');
        ReadOnlySpan<byte> requestLine = TrimCr(lineEnd < 0 ? head : head[..lineEnd]);
        if (lineEnd >= 0 && !HeadersWellFormed(head[(lineEnd + 1)..]))
            return HttpVerdict.BadRequest;
        return JudgeRequestLine(requestLine);
    }

    private static HttpVerdict JudgeRequestLine(ReadOnlySpan<byte> line)
    {
        int firstSpace = line.IndexOf((byte)' ');
        int lastSpace = line.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace == firstSpace)
            return HttpVerdict.BadRequest;
        ReadOnlySpan<byte> method = line[..firstSpace];
        ReadOnlySpan<byte> target = line[(firstSpace + 1)..lastSpace];
        ReadOnlySpan<byte> version = line[(lastSpace + 1)..];
        if (!version.SequenceEqual("HTTP/1.1"u8) && !version.SequenceEqual("HTTP/1.0"u8))
            return HttpVerdict.BadRequest;
        if (target.Length == 0 || target[0] != (byte)'/' || target.IndexOf((byte)' ') >= 0)
            return HttpVerdict.BadRequest;
        foreach (byte b in method)
        {
            if (b < (byte)'A' || b > (byte)'Z')
                return HttpVerdict.BadRequest;
        }
        bool get = method.SequenceEqual("GET"u8);
        bool head = method.SequenceEqual("HEAD"u8);
        if (!get && !head)
            return HttpVerdict.MethodNotAllowed;
        int query = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = query < 0 ? target : target[..query];
        if (path.SequenceEqual("/metrics"u8))
            return get ? HttpVerdict.Metrics : HttpVerdict.MetricsHeadersOnly;
        if (path.SequenceEqual("/readyz"u8))
            return get ? HttpVerdict.Ready : HttpVerdict.ReadyHeadersOnly;
        if (path.SequenceEqual("/livez"u8))
            return get ? HttpVerdict.Live : HttpVerdict.LiveHeadersOnly;
        return HttpVerdict.NotFound;
    }

    // Each header line is "Name: value", the name a non-empty run without spaces.
    private static bool HeadersWellFormed(ReadOnlySpan<byte> headers)
    {
        while (headers.Length > 0)
        {
            int lineEnd = headers.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = TrimCr(lineEnd < 0 ? headers : headers[..lineEnd]);
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].IndexOfAny((byte)' ', (byte)'\t') >= 0)
                return false;
            headers = lineEnd < 0 ? ReadOnlySpan<byte>.Empty : headers[(lineEnd + 1)..];
        }
        return true;
    }

    // The head ends at the first empty line (CRLF CRLF, or a bare LF LF).
    private static int EndOfHead(ReadOnlySpan<byte> received)
    {
        int crlf = received.IndexOf("\r\n\r\n"u8);
        int lf = received.IndexOf("\n\n"u8);
        if (crlf < 0)
            return lf;
        return lf < 0 || crlf < lf ? crlf : lf;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;
}
