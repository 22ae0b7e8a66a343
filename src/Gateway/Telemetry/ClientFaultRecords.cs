using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Telemetry;

/// <summary>
/// Recognises log records about a client fault (issue 9, defect 11), so the redacting logger can demote them: the
/// middleware that answers the fault lives above telemetry and counts it there.
/// </summary>
internal static class ClientFaultRecords
{
    /// <summary>
    /// For log records from any category: true when the record is about the client's doing — a BadHttpRequestException
    /// or reset in the exception chain (Kestrel logs an escaped one at Error), or YARP's forwarder reporting
    /// <see cref="ForwarderError.RequestBodyClient"/> (at Warning, with the stack).
    /// </summary>
    public static bool IsClientFault<TState>(TState state, Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException or Microsoft.AspNetCore.Connections.ConnectionResetException)
            {
                return true;
            }
        }

        if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            for (var i = 0; i < values.Count; i++)
            {
                if (values[i].Value is ForwarderError.RequestBodyClient)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
