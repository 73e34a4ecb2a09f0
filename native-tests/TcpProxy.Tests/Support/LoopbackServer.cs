using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A destination server on loopback. Tests accept connections one by one and decide what each does
/// (echo, never read, close at once...), or let it echo every connection. All sockets and threads
/// it created end on Dispose.
/// </summary>
public sealed class LoopbackServer : IDisposable
{
    static readonly TimeSpan DefaultAcceptTimeout = TimeSpan.FromSeconds(5);

    readonly Socket listener;
    readonly object gate = new();
    readonly List<Socket> accepted = new();
    readonly List<Thread> threads = new();
    volatile bool disposed;

    public IPAddress Address { get; }
    public int Port { get; }
    public string Host => Address.ToString();

    LoopbackServer(IPAddress address, bool listen, int port = 0)
    {
        Address = address;
        listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(address, port));
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        if (listen) listener.Listen(128);
    }

    public static LoopbackServer Listening(IPAddress? address = null) => new(address ?? IPAddress.Loopback, listen: true);

    /// <summary>On a given port (another loopback address's server on the same port: one name, two addresses).</summary>
    public static LoopbackServer ListeningOn(IPAddress address, int port) => new(address, listen: true, port);

    /// <summary>Holds the port (so nobody else takes it) while connections to it are refused.</summary>
    public static LoopbackServer BoundButNotListening(IPAddress? address = null) => new(address ?? IPAddress.Loopback, listen: false);

    public void StartListening() => listener.Listen(128);

    /// <summary>Accepts the next connection; throws if none arrives within the limit.</summary>
    public Socket Accept(TimeSpan? limit = null)
    {
        var wait = limit ?? DefaultAcceptTimeout;
        if (!listener.Poll(wait, SelectMode.SelectRead))
            throw new TimeoutException($"no connection reached the server on port {Port} within {wait.TotalSeconds:0.#} s");
        var socket = SocketIo.Configure(listener.Accept());
        lock (gate) accepted.Add(socket);
        return socket;
    }

    /// <summary>Accepts the next connection and echoes it until EOF.</summary>
    public Socket AcceptAndEcho(TimeSpan? limit = null)
    {
        var socket = Accept(limit);
        Echo(socket);
        return socket;
    }

    /// <summary>
    /// Accepts the server side of a client that just connected through the proxy and echoes it;
    /// returns the client, so connections can be paired in order.
    /// </summary>
    public Socket AcceptAndEchoAfter(Socket client)
    {
        AcceptAndEcho();
        return client;
    }

    /// <summary>Echoes every connection that arrives from now on, until Dispose.</summary>
    public void EchoEveryConnection() => StartThread("echo-accept", () =>
    {
        while (!disposed)
        {
            try
            {
                if (listener.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead)) AcceptAndEcho();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException)
            {
                if (disposed) return;
            }
        }
    });

    /// <summary>Sends back everything it reads; on EOF shuts its own sending side too.</summary>
    public void Echo(Socket socket)
    {
        // Echo peers may sit idle across long test pauses; Dispose wakes them with shutdown.
        socket.ReceiveTimeout = 60_000;
        StartThread("echo", () => RunQuietly(() =>
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                int n = socket.Receive(buffer);
                if (n == 0)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                SocketIo.SendAll(socket, buffer.AsSpan(0, n));
            }
        }));
    }

    /// <summary>Runs peer behaviour on its own thread; socket errors (closed by Dispose, reset) end it quietly.</summary>
    public void StartThread(string name, Action body)
    {
        var thread = new Thread(() => RunQuietly(body)) { IsBackground = true, Name = name };
        lock (gate) threads.Add(thread);
        thread.Start();
    }

    static void RunQuietly(Action body)
    {
        try { body(); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        listener.Dispose();
        Socket[] sockets;
        Thread[] running;
        lock (gate)
        {
            sockets = accepted.ToArray();
            running = threads.ToArray();
        }
        foreach (var socket in sockets)
        {
            // shutdown wakes threads blocked in Receive/Send on this socket.
            try { socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            socket.Dispose();
        }
        foreach (var thread in running) thread.Join(TimeSpan.FromSeconds(2));
    }
}
