using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// The connect phase: connect() → EINPROGRESS → writable → SO_ERROR, trying
/// each resolved address in turn, each for at most the connect timeout.
/// When every address fails the client is reset at once. A fault or a drain
/// meanwhile resets the client and closes the server socket of the attempt.
/// </summary>
internal sealed partial class ProxyPair
{
    // The destination's addresses when this client came: a re-resolution meanwhile does not move it.
    private DestinationSet _set = null!;
    private int _addressIndex;
    private int _lastError;
    private byte[]? _proxyHeader;

    /// <summary>Takes over an accepted client and starts connecting it to the destination.</summary>
    public void Connect(int client, long number, string? peerName, byte[]? proxyHeader)
    {
        Reopen(number, peerName, _loop.Reactor.NowMs);
        _phase = Phase.Connecting;
        _client = client;
        _server = -1;
        _set = _loop.Destinations.Current;
        _addressIndex = 0;
        _lastError = 0;
        _proxyHeader = proxyHeader;
        _loop.Connections.Opened(this);
        // Runs inside the listener's callback: a fault from here on is this
        // pair's to clean up, not the listener's.
        try
        {
            TryNextAddress();
        }
        catch (Exception exception)
        {
            OnFault(exception);
        }
    }

    private void TryNextAddress()
    {
        SocketAddress[] destinations = _set.Addresses;
        for (; _addressIndex < destinations.Length; _addressIndex++)
        {
            ref SocketAddress destination = ref destinations[_addressIndex];
            int fd = _loop.Admission.OpenSocket(destination.Family);
            if (fd < 0)
            {
                _lastError = -fd;
                continue;
            }
            // Urgent bytes from the server are forwarded in line, as the listener does for clients.
            int rc = Sys.SetOutOfBandInline(fd);
            if (rc == 0)
                rc = Sys.Connect(fd, destination);
            if (rc == 0 || rc == -Errno.EINPROGRESS)
            {
                int added = _loop.Reactor.Add(fd, this, IoEvents.None, owner: this);
                if (added == 0)
                {
                    _server = fd;
                    if (rc == 0)
                    {
                        Connected();
                    }
                    else
                    {
                        _loop.Reactor.Watch(fd, IoEvents.Writable, true);
                        _loop.Reactor.Timers.Arm(this, _loop.Reactor.NowMs + _loop.Settings.ConnectTimeoutMs);
                    }
                    return;
                }
                rc = added;
            }
            else
            {
                _loop.Counters.ConnectFailures++;
            }
            _lastError = -rc;
            Sys.Close(fd);
        }
        Fail();
    }

    private void OnConnectWritable()
    {
        _loop.Reactor.Watch(_server, IoEvents.Writable, false);
        int error = Sys.GetPendingError(_server);
        if (error == 0)
        {
            _loop.Reactor.Timers.Cancel(this);
            Connected();
            return;
        }
        _lastError = error;
        _loop.Counters.ConnectFailures++;
        AbandonAttempt();
        _addressIndex++;
        TryNextAddress();
    }

    // The handshake did not complete in time: this address is dropped like a refused one.
    private void OnConnectTimeout()
    {
        _lastError = Errno.ETIMEDOUT;
        _loop.Counters.ConnectFailures++;
        if (Log.IsVerbose)
            Log.Verbose(Describe() + ": connecting to " + _set.Names[_addressIndex] + " timed out after "
                + (_loop.Settings.ConnectTimeoutMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + " s");
        AbandonAttempt();
        _addressIndex++;
        TryNextAddress();
    }

    /// <summary>Closes the server socket of the attempt under way, if any.</summary>
    private void AbandonAttempt()
    {
        _loop.Reactor.Timers.Cancel(this);
        if (_server < 0)
            return;
        _loop.Reactor.Remove(_server);
        Sys.Close(_server);
        _server = -1;
    }

    private void Connected()
    {
        _loop.Destinations.ClientConnected();
        Sys.SetNoDelay(_server);
        StartForwarding();
    }

    private void Fail()
    {
        // Everything was tried: warn at the normal level, since the operator must act.
        CloseReason reason = _lastError == Errno.ETIMEDOUT ? CloseReason.ConnectTimeout : CloseReason.ConnectFailed;
        _loop.Destinations.ClientFailed();
        Log.Warning(Describe() + ": cannot connect to " + _loop.Settings.DestinationName + ": " + Errno.Name(_lastError)
            + (reason == CloseReason.ConnectTimeout ? " (connect timeout)" : "") + "; resetting the client");
        ResetClient(reason, _lastError);
    }

    /// <summary>Resets the client and the server socket of the attempt, if any, and reports the close; once.</summary>
    private void ResetClient(CloseReason reason, int errno)
    {
        if (_phase != Phase.Connecting)
            return;
        _phase = Phase.Free;
        if (_server >= 0)
            Sys.SetAbortOnClose(_server);
        AbandonAttempt();
        Sys.SetAbortOnClose(_client);
        Sys.Close(_client);
        _client = -1;
        _proxyHeader = null;
        _loop.Connections.Closed(this, reason, errno, serverName: null, bytesUp: 0, bytesDown: 0);
        _pool.Return(this);
    }
}
