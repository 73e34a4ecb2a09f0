using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Support;

/// <summary>
/// Base of the end-to-end tests: owns every proxy, server and socket a test creates and
/// releases them (killing the proxy by PID) even when the test fails; the proxy's stderr goes
/// to the test output so a failure shows what the proxy said.
/// </summary>
public abstract class EndToEndTest : IDisposable
{
    readonly List<IDisposable> owned = new();
    readonly List<ProxyProcess> proxies = new();

    protected EndToEndTest(ITestOutputHelper output) => Output = output;

    protected ITestOutputHelper Output { get; }

    protected T Own<T>(T resource) where T : IDisposable
    {
        owned.Add(resource);
        return resource;
    }

    protected ProxyProcess StartProxy(string host, int port, params string[] options)
    {
        var proxy = Own(ProxyProcess.Start(host, port, options));
        proxies.Add(proxy);
        return proxy;
    }

    /// <summary>Starts the proxy inside a network namespace of the test's own.</summary>
    protected ProxyProcess StartProxyIn(NetworkNamespace ns, string host, int port, params string[] options)
    {
        var proxy = Own(ProxyProcess.Start(ns.Launcher, host, port, options));
        proxies.Add(proxy);
        return proxy;
    }

    /// <summary>Starts the proxy through a launcher made for its listen port (e.g. env, or one that passes it a socket).</summary>
    protected ProxyProcess StartProxyVia(Func<int, IReadOnlyList<string>> launcherFor, LoopbackServer destination, params string[] options) =>
        StartProxyVia(launcherFor, destination.Host, destination.Port, options);

    protected ProxyProcess StartProxyVia(Func<int, IReadOnlyList<string>> launcherFor, string host, int port, params string[] options)
    {
        var proxy = Own(ProxyProcess.Start(launcherFor, host, port, options));
        proxies.Add(proxy);
        return proxy;
    }

    /// <summary>Starts another copy of the binary (one the test may replace) through a launcher made for its listen port.</summary>
    protected ProxyProcess StartProxyFrom(string binary, Func<int, IReadOnlyList<string>> launcherFor, LoopbackServer destination, params string[] options)
    {
        var proxy = Own(ProxyProcess.StartFrom(binary, launcherFor, destination.Host, destination.Port, options));
        proxies.Add(proxy);
        return proxy;
    }

    protected ProxyProcess StartProxy(LoopbackServer destination, params string[] options) =>
        StartProxy(destination.Host, destination.Port, options);

    protected LoopbackServer StartServer(IPAddress? address = null) => Own(LoopbackServer.Listening(address));

    protected LoopbackServer StartEchoServer(IPAddress? address = null)
    {
        var server = StartServer(address);
        server.EchoEveryConnection();
        return server;
    }

    /// <summary>A client connection to the proxy's listen port (IPv4 loopback unless told otherwise).</summary>
    protected Socket Connect(ProxyProcess proxy, IPAddress? via = null) =>
        Own(SocketIo.Connect(via ?? IPAddress.Loopback, proxy.ListenPort));

    /// <summary>A client through the proxy together with the server-side socket the proxy opened for it.</summary>
    protected (Socket Client, Socket Server) ConnectPair(ProxyProcess proxy, LoopbackServer server)
    {
        var client = Connect(proxy);
        return (client, server.Accept());
    }

    protected void AssertProxyAlive(ProxyProcess proxy) =>
        Assert.False(proxy.HasExited, "the proxy died: " + proxy.Describe());

    public void Dispose()
    {
        foreach (var proxy in proxies)
        {
            try { Output.WriteLine(proxy.Describe()); }
            catch (InvalidOperationException) { } // output helper no longer attached
        }
        for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
        GC.SuppressFinalize(this);
    }
}
