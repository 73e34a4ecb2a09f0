using System;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Metrics;

/// <summary>
/// One scrape on the loop: read the request head (at most
/// <see cref="HttpRequestHead.MaxBytes"/>), answer once with
/// Connection: close, close. The whole exchange has a few seconds (from
/// accept, however the client trickles), so a silent or slow client holds
/// nothing for long. Until its first byte arrives it is silent, and the
/// endpoint may close it to make room (<see cref="MetricsEndpoint"/>).
/// </summary>
internal sealed unsafe class MetricsConnection : IFaultOwner, IFdHandler, IListNode<MetricsConnection>
{
    public const long TimeLimitMs = 5000;

    private readonly MetricsEndpoint _endpoint;
    private readonly Reactor.Reactor _reactor;
    private readonly int _fd;
    private readonly byte[] _request = new byte[HttpRequestHead.MaxBytes];
    private readonly LoopTimer _deadline;
    private int _received;
    private HttpVerdict _verdict;
    private bool _waitingForTurn;
    private byte[]? _response;
    private int _length;
    private int _sent;

    public MetricsConnection(MetricsEndpoint endpoint, Reactor.Reactor reactor, int fd)
    {
        _endpoint = endpoint;
        _reactor = reactor;
        _fd = fd;
        OpenedMs = reactor.NowMs;
        _deadline = new LoopTimer(() => Close(abort: true), owner: this);
    }

    private ListLinks<MetricsConnection> _links;

    /// <summary>Its place on the endpoint's list of open scrapes.</summary>
    public ref ListLinks<MetricsConnection> Links => ref _links;

    public bool IsClosed { get; private set; }

    public long OpenedMs { get; }

    /// <summary>No byte of a request has arrived yet.</summary>
    public bool IsSilent => _received == 0;

    /// <summary>Watches the socket; false if the reactor could not take it (the caller closes the fd).</summary>
    public bool Start()
    {
        if (_reactor.Add(_fd, this, IoEvents.Both, owner: this) < 0)
            return false;
        _reactor.Timers.Arm(_deadline, _reactor.NowMs + TimeLimitMs);
        _reactor.Watch(_fd, IoEvents.Readable, true);
        return true;
    }

    /// <summary>Reads what has arrived now, without waiting for the loop's event (the endpoint asks before evicting).</summary>
    public void ReadWaiting() => OnReadable(_fd);

    public void OnReadable(int fd)
    {
        // Bounded: each pass reads into what is left of a 4 KiB buffer, or stops.
        while (_response == null && !_waitingForTurn)
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

    // A whole request: answered now, or once the endpoint's pacing gives it a turn.
    private void Respond(HttpVerdict verdict)
    {
        _verdict = verdict;
        _waitingForTurn = true;
        _reactor.Watch(_fd, IoEvents.Readable, false);
        if (_endpoint.Pacing.TakeTurn(this))
            Answer();
    }

    /// <summary>Builds the answer (from the scrape cache for /metrics) and starts sending it.</summary>
    public void Answer()
    {
        HttpVerdict verdict = _verdict;
        int headLength = 0;
        _waitingForTurn = false;
        bool accepting = _endpoint.Accepting();
        _response = verdict switch
        {
            HttpVerdict.Metrics or HttpVerdict.MetricsHeadersOnly => _endpoint.Scrape(out headLength),
            HttpVerdict.Ready or HttpVerdict.ReadyHeadersOnly => accepting ? HttpResponse.Ready : HttpResponse.Draining,
            HttpVerdict.Live or HttpVerdict.LiveHeadersOnly => HttpResponse.Live,
            HttpVerdict.NotFound => HttpResponse.NotFound,
            HttpVerdict.MethodNotAllowed => HttpResponse.MethodNotAllowed,
            _ => HttpResponse.BadRequest,
        };
        _length = verdict switch
        {
            HttpVerdict.MetricsHeadersOnly => headLength,
            HttpVerdict.ReadyHeadersOnly => accepting ? HttpResponse.ReadyHeadLength : HttpResponse.DrainingHeadLength,
            HttpVerdict.LiveHeadersOnly => HttpResponse.LiveHeadLength,
            _ => _response.Length,
        };
        _reactor.Watch(_fd, IoEvents.Writable, true);
    }

    public void OnWritable(int fd)
    {
        while (_sent < _length)
        {
            long n;
            fixed (byte* response = _response)
                n = Sys.Send(_fd, response + _sent, _length - _sent, null, 0, more: false);
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
