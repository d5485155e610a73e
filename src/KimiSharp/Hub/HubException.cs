namespace KimiSharp.Hub;

/// <summary>The hub refused or failed a request, or a download could not be completed.</summary>
public sealed class HubException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Not enough free disk space for the files still to download (checked before downloading).</summary>
public sealed class InsufficientDiskSpaceException(string directory, long needed, long available)
    : Exception($"not enough free disk space in {directory}: need {needed:N0} bytes, {available:N0} available")
{
    public long NeededBytes { get; } = needed;
    public long AvailableBytes { get; } = available;
}
