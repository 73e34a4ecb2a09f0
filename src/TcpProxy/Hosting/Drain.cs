using System;
using System.Globalization;
using TcpProxy.Logging;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// Graceful shutdown. The first SIGTERM/SIGINT closes the listening socket
/// (new clients are refused by the kernel) and lets every open client —
/// connecting ones included — finish on its own; the loop stops when the last
/// one closes. Those still open after the drain timeout, or at a second
/// signal, are aborted (RST, reason drain) and the loop stops at once.
/// With several reactors each loop drains its own clients with a Drain of
/// its own (its lines prefixed "reactor N: "), and reports the outcome to
/// <see cref="ProxyServer"/>, which ends the process once every loop is done.
/// </summary>
internal sealed class Drain
{
    private readonly Reactor.Reactor _reactor;
    private readonly ConnectionTracker _connections;
    private readonly Log _log;
    private readonly IDisposable _listener;
    private readonly long _timeoutMs;
    private readonly Action<int, int> _onFinished;
    private readonly string _prefix;
    private readonly LoopTimer _timer;
    private readonly Action _onConnectionClosed;
    private long _startedMs;
    private int _openAtStart;
    private int _aborted;
    private bool _finished;

    /// <param name="finished">Called once, on the loop, with how many clients finished and how many were aborted.</param>
    /// <param name="prefix">Put before each line: "" with one reactor, "reactor 1: " with several.</param>
    public Drain(Reactor.Reactor reactor, ConnectionTracker connections, IDisposable listener, TimeSpan timeout, string prefix, Action<int, int> finished)
    {
        _reactor = reactor;
        _connections = connections;
        _log = connections.Log;
        _listener = listener;
        _timeoutMs = (long)timeout.TotalMilliseconds;
        _prefix = prefix;
        _onFinished = finished;
        _timer = new LoopTimer(() => AbortRemaining("the drain timeout"));
        _onConnectionClosed = OnConnectionClosed;
    }

    public bool IsDraining { get; private set; }

    /// <summary>A SIGTERM or SIGINT: begins the drain, or ends it if it had begun.</summary>
    public void OnTerminateSignal()
    {
        if (_finished)
            return;
        if (IsDraining)
        {
            AbortRemaining("a second signal");
            return;
        }
        IsDraining = true;
        _listener.Dispose();
        Reactor.Reactor reactor = _reactor;
        _startedMs = reactor.NowMs;
        _openAtStart = _connections.Count;
        int connecting = _connections.CountConnecting();
        _log.Info(_prefix + "draining: stopped accepting; " + Count(_openAtStart, "connection") + " open ("
            + connecting.ToString(CultureInfo.InvariantCulture) + " connecting), waiting up to "
            + (_timeoutMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + " s");
        if (_openAtStart == 0)
        {
            Finish();
            return;
        }
        _connections.ConnectionClosed += _onConnectionClosed;
        reactor.Timers.Arm(_timer, _startedMs + _timeoutMs);
    }

    private void OnConnectionClosed()
    {
        if (_connections.Count == 0)
            Finish();
    }

    private void AbortRemaining(string why)
    {
        if (_finished)
            return;
        _log.Info(_prefix + "draining: " + why + " aborts " + Count(_connections.Count, "connection") + " still open");
        // Finish once, below, with the count: not from inside the aborts' close reports.
        _connections.ConnectionClosed -= _onConnectionClosed;
        _aborted = _connections.AbortAll(CloseReason.Drain);
        Finish();
    }

    private void Finish()
    {
        if (_finished)
            return;
        _finished = true;
        _connections.ConnectionClosed -= _onConnectionClosed;
        _reactor.Timers.Cancel(_timer);
        _log.Info(_prefix + "drain finished after " + ((_reactor.NowMs - _startedMs) / 1000.0).ToString("0.0##", CultureInfo.InvariantCulture) + " s: "
            + (_openAtStart - _aborted).ToString(CultureInfo.InvariantCulture) + " finished, "
            + _aborted.ToString(CultureInfo.InvariantCulture) + " aborted");
        _onFinished(_openAtStart - _aborted, _aborted);
    }

    private static string Count(int n, string noun) => n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? "" : "s");
}
