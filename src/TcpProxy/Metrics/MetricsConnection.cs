using System;
using System.Text;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Metrics;

/// <summary>
/// One scrape on the loop: read the request head (at most
/// <see cref="HttpRequestHead.MaxBytes"/>), answer once with
/// Connection: close, close. The whole exchange has a few seconds (from
/// accept, however the client trickles), so a silent or slow client holds
/// nothing for long.
/// </summary>
internal sealed unsafe class MetricsConnection : IFaultOwner
{
    public const long TimeLimitMs = 5000;

    private readonly MetricsEndpoint _endpoint;
    private readonly Reactor.Reactor _reactor;
    private readonly int _fd;
    private readonly byte[] _request = new byte[HttpRequestHead.MaxBytes];
    private readonly WheelTimer _deadline;
    private int _received;
    private byte[]? _response;
    private int _sent;

    public MetricsConnection(MetricsEndpoint endpoint, Reactor.Reactor reactor, int fd)
    {
        _endpoint = endpoint;
        _reactor = reactor;
        _fd = fd;
        _deadline = new WheelTimer(reactor.Guarded(this, () => Close(abort: true)));
    }

    // Oldest first, on the endpoint's list: the oldest gives way when a new one needs its place.
    internal MetricsConnection? Newer;
    internal MetricsConnection? Older;

    public bool IsClosed { get; private set; }

    /// <summary>Watches the socket; false if the reactor could not take it (the caller closes the fd).</summary>
    public bool Start()
    {
        if (_reactor.Add(_fd, IoEvents.Both, this) < 0)
            return false;
        _reactor.Timers.Arm(_deadline, _reactor.NowMs + TimeLimitMs);
        _reactor.SetCallback(_fd, IoEvents.Readable, OnReadable);
        return true;
    }

    private void OnReadable()
    {
        // Bounded: each pass reads into what is left of a 4 KiB buffer, or stops.
        while (_response == null)
        {
            long n;
            fixed (byte* buffer = _request)
                n = Sys.Receive(_fd, buffer + _received, _request.Length - _received, null, 0);
            if (n > 0)
            {
                _received += (int)n;
                HttpVerdict verdict = HttpRequestHead.Judge(_request.AsSpan(0, _received));
                if (verdict != HttpVerdict.Incomplete)
                    Respond(verdict);
                continue;
            }
            if (n == -Errno.EINTR)
                continue;
            if (n == -Errno.EAGAIN)
            {
                _reactor.ClearReady(_fd, IoEvents.Readable);
                return;
            }
            // EOF before a whole request, or a read error: nobody to answer.
            Close(abort: n < 0);
            return;
        }
    }

    private void Respond(HttpVerdict verdict)
    {
        _response = verdict switch
        {
            HttpVerdict.Metrics => Response("200 OK", PrometheusWriter.ContentType, _endpoint.RenderMetrics(), headersOnly: false),
            HttpVerdict.MetricsHeadersOnly => Response("200 OK", PrometheusWriter.ContentType, _endpoint.RenderMetrics(), headersOnly: true),
            HttpVerdict.NotFound => Response("404 Not Found", "text/plain; charset=utf-8", "not found; the metrics are at /metrics\n", headersOnly: false),
            HttpVerdict.MethodNotAllowed => Response("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET and HEAD\n", headersOnly: false),
            _ => Response("400 Bad Request", "text/plain; charset=utf-8", "bad request\n", headersOnly: false),
        };
        _reactor.SetCallback(_fd, IoEvents.Readable, null);
        _reactor.SetCallback(_fd, IoEvents.Writable, OnWritable);
    }

    private void OnWritable()
    {
        while (_sent < _response!.Length)
        {
            long n;
            fixed (byte* response = _response)
                n = Sys.Send(_fd, response + _sent, _response.Length - _sent, null, 0, more: false);
            if (n > 0)
            {
                _sent += (int)n;
                continue;
            }
            if (n == -Errno.EINTR)
                continue;
            if (n == -Errno.EAGAIN)
            {
                _reactor.ClearReady(_fd, IoEvents.Writable);
                return;
            }
            Close(abort: true);
            return;
        }
        Sys.ShutdownWrite(_fd);
        Close(abort: false);
    }

    private static byte[] Response(string status, string contentType, string body, bool headersOnly)
    {
        int bodyLength = Encoding.UTF8.GetByteCount(body);
        string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + contentType + "\r\nContent-Length: "
            + bodyLength.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\r\nConnection: close\r\n"
            + (status.StartsWith("405", StringComparison.Ordinal) ? "Allow: GET, HEAD\r\n" : "") + "\r\n";
        return Encoding.UTF8.GetBytes(headersOnly ? head : head + body);
    }

    /// <summary>A callback threw (rendering the metrics, say): this scrape ends with a reset, nothing else is harmed.</summary>
    public void OnFault(Exception exception) => Close(abort: true);

    /// <summary>Ends the exchange; with <paramref name="abort"/> the client sees a reset.</summary>
    public void Close(bool abort)
    {
        if (IsClosed)
            return;
        IsClosed = true;
        _reactor.Timers.Cancel(_deadline);
        _reactor.Remove(_fd);
        if (abort)
            Sys.SetAbortOnClose(_fd);
        Sys.Close(_fd);
        _endpoint.Closed(this);
    }
}
