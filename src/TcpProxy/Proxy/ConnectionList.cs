namespace TcpProxy.Proxy;

/// <summary>
/// The open client connections, as an intrusive doubly-linked list: add,
/// remove and replace are O(1) and allocate nothing.
/// </summary>
public sealed class ConnectionList
{
    private ClientConnection? _head;

    public int Count { get; private set; }

    /// <summary>For walking the list: follow <see cref="ClientConnection.NextOpen"/>.</summary>
    public ClientConnection? First => _head;

    public void Add(ClientConnection connection)
    {
        connection.PreviousOpen = null;
        connection.NextOpen = _head;
        if (_head != null)
            _head.PreviousOpen = connection;
        _head = connection;
        connection.IsListed = true;
        Count++;
    }

    public void Remove(ClientConnection connection)
    {
        if (!connection.IsListed)
            return;
        if (connection.PreviousOpen != null)
            connection.PreviousOpen.NextOpen = connection.NextOpen;
        else
            _head = connection.NextOpen;
        if (connection.NextOpen != null)
            connection.NextOpen.PreviousOpen = connection.PreviousOpen;
        connection.NextOpen = connection.PreviousOpen = null;
        connection.IsListed = false;
        Count--;
    }

    /// <summary>A connector hands over to its pair: same place in the count, no gap.</summary>
    public void Replace(ClientConnection old, ClientConnection replacement)
    {
        Remove(old);
        Add(replacement);
    }

    /// <summary>Aborts every open connection; returns how many.</summary>
    public int AbortAll(CloseReason reason)
    {
        int aborted = 0;
        // Bounded: each abort removes its connection, and nothing is accepted meanwhile.
        while (_head is ClientConnection connection)
        {
            connection.Abort(reason);
            if (connection.IsListed)
                Remove(connection); // an abort that failed to unlist must not loop forever
            aborted++;
        }
        return aborted;
    }
}
