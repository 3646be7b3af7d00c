using System.Diagnostics;

namespace LeaseService.Core.Internal;

/// <summary>A node that lives in at most one <see cref="IntrusiveList{T}"/> at a time.</summary>
internal abstract class IntrusiveNode<T>
    where T : IntrusiveNode<T>
{
    internal T? Previous;
    internal T? Next;
    internal IntrusiveList<T>? Owner;
}

/// <summary>
/// A doubly linked list whose links live in the nodes: O(1) append, remove and move-to-tail with
/// no allocation. Used for the expiry index (leases in renewal order), a lease's files, and the
/// queue of block recoveries in attempt order.
/// </summary>
internal sealed class IntrusiveList<T>
    where T : IntrusiveNode<T>
{
    public T? Head { get; private set; }

    public T? Tail { get; private set; }

    public int Count { get; private set; }

    public void AddLast(T node)
    {
        Debug.Assert(node.Owner is null, "Node is already in a list.");
        node.Owner = this;
        node.Previous = Tail;
        node.Next = null;
        if (Tail is null)
        {
            Head = node;
        }
        else
        {
            Tail.Next = node;
        }

        Tail = node;
        Count++;
    }

    public void Remove(T node)
    {
        Debug.Assert(node.Owner == this, "Node is not in this list.");
        if (node.Previous is null)
        {
            Head = node.Next;
        }
        else
        {
            node.Previous.Next = node.Next;
        }

        if (node.Next is null)
        {
            Tail = node.Previous;
        }
        else
        {
            node.Next.Previous = node.Previous;
        }

        node.Previous = null;
        node.Next = null;
        node.Owner = null;
        Count--;
    }

    public void MoveToLast(T node)
    {
        if (ReferenceEquals(Tail, node))
        {
            return;
        }

        Remove(node);
        AddLast(node);
    }
}
