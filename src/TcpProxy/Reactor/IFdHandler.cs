namespace TcpProxy.Reactor;

/// <summary>
/// An object that handles the events of the fds it registers, dispatched by
/// fd: one interface reference in the table instead of a delegate per fd and
/// direction, so a pair's callbacks cost no objects of their own. Turn the
/// directions on and off with <see cref="Reactor.Watch"/>.
/// </summary>
public interface IFdHandler
{
    void OnReadable(int fd);

    void OnWritable(int fd);
}
