using TcpProxy.Interop;

namespace TcpProxy.Hosting;

/// <summary>SIGHUP: the access log reopened, with systemd told of the reload around it.</summary>
public sealed partial class ProxyServer
{
    // SIGHUP, as logrotate and `systemctl reload` send: systemd hears of the reload around it.
    private void Reload()
    {
        _notifier?.Reloading();
        ReopenAccessLog();
        _notifier?.Reloaded();
    }

    // After logrotate renamed the file: lines go to a new file of the same name.
    private void ReopenAccessLog()
    {
        if (_accessLogFile is null)
        {
            _log.Info("SIGHUP: no access-log file to reopen");
            return;
        }
        int rc = _accessLogFile.Reopen();
        if (rc == 0)
            _log.Info("SIGHUP: reopened the access log " + _accessLogPath);
        else
            _log.Error("SIGHUP: cannot reopen the access log " + _accessLogPath + ": " + Errno.Name(-rc) + "; still writing to the old file");
    }
}
