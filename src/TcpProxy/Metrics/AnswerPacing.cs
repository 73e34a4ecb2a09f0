using System;
using System.Collections.Generic;
using TcpProxy.Reactor;

namespace TcpProxy.Metrics;

/// <summary>
/// At most <see cref="AnswersPerWindow"/> answers per <see cref="WindowMs"/>
/// (100 a second; Prometheus scrapes every few seconds). A request beyond
/// that waits, in arrival order, for the next window. Scrapers wait for their
/// answer before they ask again, so however many scrape however fast, the
/// loop spends a bounded share of its time on them and forwarding keeps its
/// pace. Connecting is not paced: a client that connects and closes costs an
/// accept and a close, and never holds back the scrapers queued behind it.
/// </summary>
internal sealed class AnswerPacing
{
    public const int AnswersPerWindow = 5;
    public const long WindowMs = 50;

    private readonly Reactor.Reactor _reactor;
    private readonly LoopTimer _windowOver;
    // At most the endpoint's places: a waiting request holds its connection's place.
    private readonly Queue<MetricsConnection> _waiting = new(MetricsEndpoint.MaxConnections);
    private long _windowStartMs = long.MinValue / 2; // the first answer opens a window
    private int _answeredInWindow;

    public AnswerPacing(Reactor.Reactor reactor)
    {
        _reactor = reactor;
        _windowOver = new LoopTimer(AnswerWaiting);
    }

    /// <summary>True: answer now. False: the connection waits; its <see cref="MetricsConnection.Answer"/> runs later.</summary>
    public bool TakeTurn(MetricsConnection connection)
    {
        if (_waiting.Count == 0 && TryTake())
            return true;
        _waiting.Enqueue(connection);
        _reactor.Timers.Arm(_windowOver, _windowStartMs + WindowMs);
        return false;
    }

    public void Dispose() => _reactor.Timers.Cancel(_windowOver);

    private bool TryTake()
    {
        long now = _reactor.NowMs;
        if (now - _windowStartMs >= WindowMs)
        {
            _windowStartMs = now;
            _answeredInWindow = 0;
        }
        if (_answeredInWindow == AnswersPerWindow)
            return false;
        _answeredInWindow++;
        return true;
    }

    private void AnswerWaiting()
    {
        while (_waiting.TryPeek(out MetricsConnection? connection))
        {
            if (!connection.IsClosed)
            {
                if (!TryTake())
                {
                    _reactor.Timers.Arm(_windowOver, _windowStartMs + WindowMs);
                    return;
                }
                try
                {
                    connection.Answer();
                }
                catch (Exception exception)
                {
                    connection.OnFault(exception); // that scrape ends with a reset; the queue goes on
                }
            }
            _waiting.Dequeue();
        }
    }
}
