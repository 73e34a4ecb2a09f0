namespace TcpProxy.Reactor;

/// <summary>The links a node of an <see cref="IntrusiveList{T}"/> carries in itself.</summary>
public struct ListLinks<T>
    where T : class
{
    internal T? Next;
    internal T? Previous;
    internal bool IsListed;
}

/// <summary>A node that can be on one <see cref="IntrusiveList{T}"/> at a time, through its own links.</summary>
public interface IListNode<T>
    where T : class
{
    ref ListLinks<T> Links { get; }
}

/// <summary>
/// A doubly-linked list whose links live in the nodes (libuv's QUEUE, the
/// kernel's list_head): adding, removing and walking cost no allocation and
/// removing is O(1), so the loop can keep its open connections, waiting
/// directions and scrapes listed for free. One list per node at a time.
/// </summary>
public sealed class IntrusiveList<T>
    where T : class, IListNode<T>
{
    public T? First { get; private set; }

    public T? Last { get; private set; }

    public int Count { get; private set; }

    /// <summary>The node after <paramref name="node"/>, for walking from <see cref="First"/>.</summary>
    public static T? Next(T node) => node.Links.Next;

    public void AddFirst(T node)
    {
        ref ListLinks<T> links = ref node.Links;
        links.Previous = null;
        links.Next = First;
        if (First != null)
            First.Links.Previous = node;
        else
            Last = node;
        First = node;
        links.IsListed = true;
        Count++;
    }

    public void AddLast(T node)
    {
        ref ListLinks<T> links = ref node.Links;
        links.Next = null;
        links.Previous = Last;
        if (Last != null)
            Last.Links.Next = node;
        else
            First = node;
        Last = node;
        links.IsListed = true;
        Count++;
    }

    /// <summary>Takes the node off the list; nothing if it is not on it.</summary>
    public void Remove(T node)
    {
        ref ListLinks<T> links = ref node.Links;
        if (!links.IsListed)
            return;
        if (links.Previous != null)
            links.Previous.Links.Next = links.Next;
        else
            First = links.Next;
        if (links.Next != null)
            links.Next.Links.Previous = links.Previous;
        else
            Last = links.Previous;
        links.Next = links.Previous = null;
        links.IsListed = false;
        Count--;
    }
}
