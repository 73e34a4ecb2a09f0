using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Metrics;
using TcpProxy.Proxy;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The /metrics body and the SIGUSR1 line, byte for byte, from loops whose
/// every counter holds a figure of its own (so a figure read from the wrong
/// counter shows). Only the process_* values, read from /proc, are masked.
/// </summary>
public sealed unsafe class MetricOutputTests : IDisposable
{
    private readonly List<(BufferPool Pool, IntPtr Block)> _lentBlocks = [];
    private readonly List<(PipePool Pool, Pipe Pipe)> _lentPipes = [];
    private readonly List<LoopParts> _loops = [];
    private readonly Reactor.Reactor _first = NewReactor();
    private readonly Reactor.Reactor _second = NewReactor();
    private readonly LogWriter _stderr = LogWriter.ForDescriptor(-1, 4096, "{0}");
    private readonly LogWriter _accessFile = LogWriter.ForDescriptor(-1, 4096, "{0}");

    public void Dispose()
    {
        foreach ((BufferPool pool, IntPtr block) in _lentBlocks)
            pool.Return((byte*)block);
        foreach ((PipePool pool, Pipe pipe) in _lentPipes)
            pool.Return(pipe, 0);
        foreach (LoopParts loop in _loops)
        {
            loop.Pipes?.Dispose();
            loop.BufferPool.Dispose();
        }
        _stderr.Dispose();
        _accessFile.Dispose();
        _first.Dispose();
        _second.Dispose();
    }

    [LinuxFact("splice pipes (their counts are in the text)")]
    public void OneReactor_Exposition_IsExact()
    {
        LoopParts loop = NewLoop(_first, seed: 1);
        Lend(loop, blocks: 2, pipes: 2);

        Assert.Equal(OneReactorExposition, MaskProcessValues(ProxyMetrics.Render(loop)));
    }

    [LinuxFact("splice pipes (their counts are in the text)")]
    public void OneReactor_Sigusr1Line_IsExact()
    {
        LoopParts loop = NewLoop(_first, seed: 1);
        Lend(loop, blocks: 2, pipes: 2);

        Assert.Equal(OneReactorLine, CounterReport.Format(loop));
    }

    [LinuxFact("splice pipes (their counts are in the text)")]
    public void TwoReactors_WithAnAccessLogFile_ExpositionIsExact()
    {
        LoopParts[] loops = TwoLoopsWithAccessLog();

        Assert.Equal(TwoReactorsExposition, MaskProcessValues(ProxyMetrics.Render(loops)));
    }

    [LinuxFact("splice pipes (their counts are in the text)")]
    public void TwoReactors_WithAnAccessLogFile_Sigusr1LineIsExact()
    {
        LoopParts[] loops = TwoLoopsWithAccessLog();

        Assert.Equal(TwoReactorsLine, CounterReport.Format(loops));
    }

    private LoopParts[] TwoLoopsWithAccessLog()
    {
        for (int i = 0; i < 3; i++)
            _stderr.WriteLine("lost");
        for (int i = 0; i < 4; i++)
            _accessFile.WriteLine("lost");
        LoopParts first = NewLoop(_first, seed: 1, _stderr, _accessFile);
        Lend(first, blocks: 2, pipes: 2);
        LoopParts second = NewLoop(_second, seed: 100, _stderr, _accessFile);
        Lend(second, blocks: 1, pipes: 1);
        return [first, second];
    }

    // Every counter a figure of its own: seed, seed+1, ... in field order, closed reasons after.
    private LoopParts NewLoop(Reactor.Reactor reactor, long seed, LogWriter? writer = null, LogWriter? accessLogWriter = null)
    {
        var options = new ProxyOptions { DestinationHost = "example.test", DestinationPort = 5432, ListenPort = 0, AccessLogFormat = AccessLogFormat.Text };
        var settings = PairSettings.From(options);
        // Two addresses, three lookups after start-up, one of them failed.
        var destinations = new Destinations(settings.DestinationName, new DestinationSet(AddressResolver.Resolve("127.0.0.1", 5432, passive: false, out _)!));
        destinations.Resolved(new DestinationSet([.. AddressResolver.Resolve("127.0.0.1", 5432, passive: false, out _)!, .. AddressResolver.Resolve("::1", 5432, passive: false, out _)!]));
        destinations.Resolved(null);
        destinations.Resolved(destinations.Current);
        var process = new ProcessParts(options, new Log(LogLevel.Quiet, writer), settings, destinations, accessLogWriter);
        LoopParts loop = ReactorLoop.BuildParts(reactor, 0, process);
        ProxyCounters counters = loop.Counters;
        counters.Accepted = seed;
        counters.BytesUp = seed + 1;
        counters.BytesDown = seed + 2;
        counters.ConnectFailures = seed + 3;
        counters.AcceptPauses = seed + 4;
        counters.BufferedBytes = seed + 5;
        counters.SwitchesToSplice = seed + 6;
        counters.SwitchesToCopy = seed + 7;
        for (int reason = 0; reason < CloseReasons.Count; reason++)
        {
            for (int n = 0; n <= reason; n++)
                counters.CountClose((CloseReason)reason);
        }
        _loops.Add(loop);
        return loop;
    }

    // Buffers and pipes in use and idle, counts of their own: one of each is given back, the rest stays lent.
    private void Lend(LoopParts loop, int blocks, int pipes)
    {
        BufferPool buffers = loop.BufferPool;
        for (int i = 0; i <= blocks; i++)
            _lentBlocks.Add((buffers, (IntPtr)buffers.TryTake()));
        buffers.Return((byte*)_lentBlocks[^1].Block);
        _lentBlocks.RemoveAt(_lentBlocks.Count - 1);
        if (loop.Pipes is not PipePool pipePool)
            return;
        for (int i = 0; i <= pipes; i++)
        {
            Assert.True(pipePool.TryTake(out Pipe pipe, out int errno), "pipe: " + errno);
            _lentPipes.Add((pipePool, pipe));
        }
        pipePool.Return(_lentPipes[^1].Pipe, 0);
        _lentPipes.RemoveAt(_lentPipes.Count - 1);
    }

    private static string MaskProcessValues(string exposition) =>
        Regex.Replace(exposition, @"^(process_[a-z_]+) \S+$", "$1 VALUE", RegexOptions.Multiline);

    private static Reactor.Reactor NewReactor()
    {
        IPoller poller = PollerFactory.Create(PollerKind.Auto, out string? error) ?? throw new InvalidOperationException(error);
        return new Reactor.Reactor(poller);
    }

    private const string OneReactorLine =
        "counters: accepted 1, active 0, closed eof 1, stall 2, write_error 3, connect_failed 4, connect_timeout 5, idle 6, drain 7, reset 8; bytes up 2, down 3; connect failures 4, accept pauses 5, buffered bytes 6, buffers in use 2, buffer waits 0; splice switches to splice 7, to copy 8, pipes in use 2, idle 1; log lines dropped 0";

    private const string TwoReactorsLine =
        "counters: accepted 101, active 0, closed eof 2, stall 4, write_error 6, connect_failed 8, connect_timeout 10, idle 12, drain 14, reset 16; bytes up 103, down 105; connect failures 107, accept pauses 109, buffered bytes 111, buffers in use 3, buffer waits 0; splice switches to splice 113, to copy 115, pipes in use 3, idle 2; log lines dropped 3, access log lines dropped 4; per reactor accepted 1/100, active 0/0";

    private const string OneReactorExposition = """
        # HELP tcpproxy_info The destination every client is forwarded to.
        # TYPE tcpproxy_info gauge
        tcpproxy_info{destination="example.test:5432"} 1
        # HELP tcpproxy_connections_accepted_total Client connections accepted.
        # TYPE tcpproxy_connections_accepted_total counter
        tcpproxy_connections_accepted_total 1
        # HELP tcpproxy_connections_active Client connections open now, those still connecting to the destination included.
        # TYPE tcpproxy_connections_active gauge
        tcpproxy_connections_active 0
        # HELP tcpproxy_connections_closed_total Client connections closed, by reason.
        # TYPE tcpproxy_connections_closed_total counter
        tcpproxy_connections_closed_total{reason="eof"} 1
        tcpproxy_connections_closed_total{reason="stall"} 2
        tcpproxy_connections_closed_total{reason="write_error"} 3
        tcpproxy_connections_closed_total{reason="connect_failed"} 4
        tcpproxy_connections_closed_total{reason="connect_timeout"} 5
        tcpproxy_connections_closed_total{reason="idle"} 6
        tcpproxy_connections_closed_total{reason="drain"} 7
        tcpproxy_connections_closed_total{reason="reset"} 8
        # HELP tcpproxy_bytes_total Bytes written to the sink: up is client to destination, down destination to client.
        # TYPE tcpproxy_bytes_total counter
        tcpproxy_bytes_total{direction="up"} 2
        tcpproxy_bytes_total{direction="down"} 3
        # HELP tcpproxy_connect_failures_total Destination addresses that refused, failed or timed out, fallback attempts included.
        # TYPE tcpproxy_connect_failures_total counter
        tcpproxy_connect_failures_total 4
        # HELP tcpproxy_destination_addresses Addresses the destination's name resolves to now: those new clients try.
        # TYPE tcpproxy_destination_addresses gauge
        tcpproxy_destination_addresses 2
        # HELP tcpproxy_resolutions_total Lookups of the destination's name since start-up (--resolve-interval, or early after failing clients), failed ones included.
        # TYPE tcpproxy_resolutions_total counter
        tcpproxy_resolutions_total 3
        # HELP tcpproxy_resolution_failures_total Lookups of the destination's name that failed or found no address: the last good addresses stayed in use.
        # TYPE tcpproxy_resolution_failures_total counter
        tcpproxy_resolution_failures_total 1
        # HELP tcpproxy_accept_pauses_total Times accepting paused: the connection limit was reached, or descriptors ran out.
        # TYPE tcpproxy_accept_pauses_total counter
        tcpproxy_accept_pauses_total 5
        # HELP tcpproxy_buffered_bytes Bytes read and not yet written, in every ring buffer and pipe.
        # TYPE tcpproxy_buffered_bytes gauge
        tcpproxy_buffered_bytes 6
        # HELP tcpproxy_buffers_in_use Ring buffers lent to directions now: one per direction with data in flight.
        # TYPE tcpproxy_buffers_in_use gauge
        tcpproxy_buffers_in_use 2
        # HELP tcpproxy_buffer_memory_bytes Bytes of ring-buffer memory taken from the system (in use and pooled).
        # TYPE tcpproxy_buffer_memory_bytes gauge
        tcpproxy_buffer_memory_bytes 262144
        # HELP tcpproxy_buffer_waits_total Times a direction stopped reading because no ring buffer was free (--buffer-memory, or out of memory).
        # TYPE tcpproxy_buffer_waits_total counter
        tcpproxy_buffer_waits_total 0
        # HELP tcpproxy_reactor_connections_accepted_total Client connections accepted, by reactor (event loop).
        # TYPE tcpproxy_reactor_connections_accepted_total counter
        tcpproxy_reactor_connections_accepted_total{reactor="0"} 1
        # HELP tcpproxy_reactor_connections_active Client connections open now, by reactor (event loop).
        # TYPE tcpproxy_reactor_connections_active gauge
        tcpproxy_reactor_connections_active{reactor="0"} 0
        # HELP tcpproxy_splice_switches_total Directions that switched, under --splice auto: to splice (a bulk stream), back to copy (it went quiet).
        # TYPE tcpproxy_splice_switches_total counter
        tcpproxy_splice_switches_total{to="splice"} 7
        tcpproxy_splice_switches_total{to="copy"} 8
        # HELP tcpproxy_pipes Kernel pipes of splice mode: lent to directions with bytes in flight, and idle in the pool.
        # TYPE tcpproxy_pipes gauge
        tcpproxy_pipes{state="in_use"} 2
        tcpproxy_pipes{state="idle"} 1
        # HELP tcpproxy_log_lines_dropped_total Log lines lost because the destination was full or failed: stderr, and the access log when it is a file.
        # TYPE tcpproxy_log_lines_dropped_total counter
        tcpproxy_log_lines_dropped_total{log="stderr"} 0
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes VALUE
        # HELP process_open_fds Number of open file descriptors.
        # TYPE process_open_fds gauge
        process_open_fds VALUE
        # HELP process_max_fds Maximum number of open file descriptors.
        # TYPE process_max_fds gauge
        process_max_fds VALUE
        # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
        # TYPE process_cpu_seconds_total counter
        process_cpu_seconds_total VALUE
        # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
        # TYPE process_start_time_seconds gauge
        process_start_time_seconds VALUE
        """ + "\n";

    private const string TwoReactorsExposition = """
        # HELP tcpproxy_info The destination every client is forwarded to.
        # TYPE tcpproxy_info gauge
        tcpproxy_info{destination="example.test:5432"} 1
        # HELP tcpproxy_connections_accepted_total Client connections accepted.
        # TYPE tcpproxy_connections_accepted_total counter
        tcpproxy_connections_accepted_total 101
        # HELP tcpproxy_connections_active Client connections open now, those still connecting to the destination included.
        # TYPE tcpproxy_connections_active gauge
        tcpproxy_connections_active 0
        # HELP tcpproxy_connections_closed_total Client connections closed, by reason.
        # TYPE tcpproxy_connections_closed_total counter
        tcpproxy_connections_closed_total{reason="eof"} 2
        tcpproxy_connections_closed_total{reason="stall"} 4
        tcpproxy_connections_closed_total{reason="write_error"} 6
        tcpproxy_connections_closed_total{reason="connect_failed"} 8
        tcpproxy_connections_closed_total{reason="connect_timeout"} 10
        tcpproxy_connections_closed_total{reason="idle"} 12
        tcpproxy_connections_closed_total{reason="drain"} 14
        tcpproxy_connections_closed_total{reason="reset"} 16
        # HELP tcpproxy_bytes_total Bytes written to the sink: up is client to destination, down destination to client.
        # TYPE tcpproxy_bytes_total counter
        tcpproxy_bytes_total{direction="up"} 103
        tcpproxy_bytes_total{direction="down"} 105
        # HELP tcpproxy_connect_failures_total Destination addresses that refused, failed or timed out, fallback attempts included.
        # TYPE tcpproxy_connect_failures_total counter
        tcpproxy_connect_failures_total 107
        # HELP tcpproxy_destination_addresses Addresses the destination's name resolves to now: those new clients try.
        # TYPE tcpproxy_destination_addresses gauge
        tcpproxy_destination_addresses 2
        # HELP tcpproxy_resolutions_total Lookups of the destination's name since start-up (--resolve-interval, or early after failing clients), failed ones included.
        # TYPE tcpproxy_resolutions_total counter
        tcpproxy_resolutions_total 3
        # HELP tcpproxy_resolution_failures_total Lookups of the destination's name that failed or found no address: the last good addresses stayed in use.
        # TYPE tcpproxy_resolution_failures_total counter
        tcpproxy_resolution_failures_total 1
        # HELP tcpproxy_accept_pauses_total Times accepting paused: the connection limit was reached, or descriptors ran out.
        # TYPE tcpproxy_accept_pauses_total counter
        tcpproxy_accept_pauses_total 109
        # HELP tcpproxy_buffered_bytes Bytes read and not yet written, in every ring buffer and pipe.
        # TYPE tcpproxy_buffered_bytes gauge
        tcpproxy_buffered_bytes 111
        # HELP tcpproxy_buffers_in_use Ring buffers lent to directions now: one per direction with data in flight.
        # TYPE tcpproxy_buffers_in_use gauge
        tcpproxy_buffers_in_use 3
        # HELP tcpproxy_buffer_memory_bytes Bytes of ring-buffer memory taken from the system (in use and pooled).
        # TYPE tcpproxy_buffer_memory_bytes gauge
        tcpproxy_buffer_memory_bytes 524288
        # HELP tcpproxy_buffer_waits_total Times a direction stopped reading because no ring buffer was free (--buffer-memory, or out of memory).
        # TYPE tcpproxy_buffer_waits_total counter
        tcpproxy_buffer_waits_total 0
        # HELP tcpproxy_reactor_connections_accepted_total Client connections accepted, by reactor (event loop).
        # TYPE tcpproxy_reactor_connections_accepted_total counter
        tcpproxy_reactor_connections_accepted_total{reactor="0"} 1
        tcpproxy_reactor_connections_accepted_total{reactor="1"} 100
        # HELP tcpproxy_reactor_connections_active Client connections open now, by reactor (event loop).
        # TYPE tcpproxy_reactor_connections_active gauge
        tcpproxy_reactor_connections_active{reactor="0"} 0
        tcpproxy_reactor_connections_active{reactor="1"} 0
        # HELP tcpproxy_splice_switches_total Directions that switched, under --splice auto: to splice (a bulk stream), back to copy (it went quiet).
        # TYPE tcpproxy_splice_switches_total counter
        tcpproxy_splice_switches_total{to="splice"} 113
        tcpproxy_splice_switches_total{to="copy"} 115
        # HELP tcpproxy_pipes Kernel pipes of splice mode: lent to directions with bytes in flight, and idle in the pool.
        # TYPE tcpproxy_pipes gauge
        tcpproxy_pipes{state="in_use"} 3
        tcpproxy_pipes{state="idle"} 2
        # HELP tcpproxy_log_lines_dropped_total Log lines lost because the destination was full or failed: stderr, and the access log when it is a file.
        # TYPE tcpproxy_log_lines_dropped_total counter
        tcpproxy_log_lines_dropped_total{log="stderr"} 3
        tcpproxy_log_lines_dropped_total{log="access"} 4
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes VALUE
        # HELP process_open_fds Number of open file descriptors.
        # TYPE process_open_fds gauge
        process_open_fds VALUE
        # HELP process_max_fds Maximum number of open file descriptors.
        # TYPE process_max_fds gauge
        process_max_fds VALUE
        # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
        # TYPE process_cpu_seconds_total counter
        process_cpu_seconds_total VALUE
        # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
        # TYPE process_start_time_seconds gauge
        process_start_time_seconds VALUE
        """ + "\n";
}
