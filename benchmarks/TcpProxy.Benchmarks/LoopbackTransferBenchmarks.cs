using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using BenchmarkDotNet.Attributes;
using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Interop;
using TcpProxy.Logging;

namespace TcpProxy.Benchmarks;

/// <summary>
/// One connection through the whole proxy in this process: a client thread
/// writes 16 MiB into the proxy's listening port, a sink thread reads them
/// from the destination side, and the benchmark thread runs the loop
/// (RunOnce(10)) until the sink has all of it — the pattern of
/// native-tests/…/InProcess/SteadyStateTests.cs. The connection is made once
/// and kept, so one operation is pure steady-state forwarding; the worker
/// threads and their buffers are made once too, so Allocated is the loop's.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
[MegabytesPerSecondColumn]
public class LoopbackTransferBenchmarks
{
    public const int BytesPerOperation = 16 << 20;
    private const int ChunkSize = 64 * 1024;
    private const int TimeoutSeconds = 60;
    private const int WarmUpRounds = 4;

    private TcpListener _sink = null!;
    private ProxyServer _server = null!;
    private Socket _clientSocket = null!;
    private Socket _sinkSocket = null!;
    private Thread _clientThread = null!;
    private Thread _sinkThread = null!;
    private readonly SemaphoreSlim _clientGo = new(0);
    private readonly SemaphoreSlim _sinkGo = new(0);
    private volatile bool _stopping;
    private volatile Exception? _failure;
    private long _roundsStarted;
    private long _roundsReceived;

    [GlobalSetup]
    public void Setup()
    {
        _sink = new TcpListener(IPAddress.Loopback, 0);
        _sink.Start();
        int sinkPort = ((IPEndPoint)_sink.LocalEndpoint).Port;
        var options = new ProxyOptions { DestinationHost = "127.0.0.1", DestinationPort = sinkPort, ListenPort = 0, BindAddress = "127.0.0.1", LogLevel = LogLevel.Quiet };
        _server = ProxyServer.Create(options, new Log(LogLevel.Quiet, writer: null), out string? error)
            ?? throw new InvalidOperationException(error);

        _clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _clientSocket.Connect(IPAddress.Loopback, _server.ListenPort); // completes in the listen backlog
        // The loop accepts the client and connects out to the sink; the sink's backlog completes that.
        for (int i = 0; i < 500 && !_sink.Pending(); i++)
            Check(_server.Reactor.RunOnce(10));
        if (!_sink.Pending())
            throw new InvalidOperationException("the proxy did not connect to the sink within 5 s");
        _sinkSocket = _sink.AcceptSocket();

        _clientThread = new Thread(ClientLoop) { IsBackground = true, Name = "bench-client" };
        _sinkThread = new Thread(SinkLoop) { IsBackground = true, Name = "bench-sink" };
        _clientThread.Start();
        _sinkThread.Start();
        // First-use paths (the workers' first blocking waits, the loop's first
        // reads and writes) allocate once; keep them out of even a one-shot run.
        for (int i = 0; i < WarmUpRounds; i++)
            Forward16MiB();
    }

    [Benchmark]
    public long Forward16MiB()
    {
        long round = ++_roundsStarted;
        _sinkGo.Release();
        _clientGo.Release();
        long deadline = Stopwatch.GetTimestamp() + TimeoutSeconds * Stopwatch.Frequency;
        while (Interlocked.Read(ref _roundsReceived) < round)
        {
            Check(_server.Reactor.RunOnce(10));
            if (_failure is Exception failure)
                throw new InvalidOperationException("a worker thread failed", failure);
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"16 MiB not forwarded within {TimeoutSeconds} s");
        }
        return round;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        _clientGo.Release();
        _sinkGo.Release();
        _clientThread.Join(TimeSpan.FromSeconds(5));
        _sinkThread.Join(TimeSpan.FromSeconds(5));
        _clientSocket.Dispose();
        _sinkSocket.Dispose();
        _sink.Stop();
        // Let the loop see both closes and release the pair before the server goes.
        for (int i = 0; i < 10; i++)
            _server.Reactor.RunOnce(10);
        _server.Dispose();
    }

    private void ClientLoop()
    {
        var chunk = new byte[ChunkSize];
        try
        {
            while (true)
            {
                _clientGo.Wait();
                if (_stopping)
                    return;
                for (int sent = 0; sent < BytesPerOperation;)
                    sent += _clientSocket.Send(chunk, 0, Math.Min(chunk.Length, BytesPerOperation - sent), SocketFlags.None);
            }
        }
        catch (Exception e) when (!_stopping)
        {
            _failure = e;
        }
    }

    private void SinkLoop()
    {
        var buffer = new byte[ChunkSize];
        try
        {
            while (true)
            {
                _sinkGo.Wait();
                if (_stopping)
                    return;
                for (int received = 0; received < BytesPerOperation;)
                {
                    int n = _sinkSocket.Receive(buffer, 0, Math.Min(buffer.Length, BytesPerOperation - received), SocketFlags.None);
                    if (n == 0)
                        throw new IOException("the proxy closed the sink connection early");
                    received += n;
                }
                Interlocked.Increment(ref _roundsReceived);
            }
        }
        catch (Exception e) when (!_stopping)
        {
            _failure = e;
        }
    }

    private static void Check(int rc)
    {
        if (rc < 0)
            throw new InvalidOperationException("event loop failed: " + Errno.Name(-rc));
    }
}
