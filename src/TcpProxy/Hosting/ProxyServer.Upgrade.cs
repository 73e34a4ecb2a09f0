using System.Collections.Generic;

namespace TcpProxy.Hosting;

/// <summary>SIGUSR2: the binary upgrade's part of the process (<see cref="BinaryUpgrade"/> does the work).</summary>
public sealed partial class ProxyServer
{
    private void Upgrade()
    {
        if (_group.Draining)
        {
            _log.Info("SIGUSR2: draining; no upgrade");
            return;
        }
        _upgrade.Start();
    }

    // Every loop's listening socket once (a shared one is one socket), then the metrics socket.
    private (int Fd, string Name)[] SocketsToHandOver()
    {
        var sockets = new List<(int Fd, string Name)>();
        foreach (ReactorLoop loop in _group.Loops)
        {
            int fd = loop.Listener!.Fd;
            if (!sockets.Contains((fd, SocketActivation.ProxyName)))
                sockets.Add((fd, SocketActivation.ProxyName));
        }
        if (_metrics != null)
            sockets.Add((_metrics.ListeningFd, SocketActivation.MetricsName));
        return sockets.ToArray();
    }

    // The new process accepts: it is the service now; this one stops accepting and drains as on SIGTERM.
    private void HandOver(int pid)
    {
        _notifier?.HandOver(pid);
        _metrics?.StopListening();
        _group.TerminateEveryLoop();
    }
}
