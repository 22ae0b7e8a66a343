namespace Gateway.Telemetry;

/// <summary>
/// The report pipeline's counters as the observable instruments read them. Reporting implements it, so telemetry,
/// which reporting records into, names nothing of reporting.
/// </summary>
internal interface IReportReadings
{
    long Enqueued { get; }

    long Sent { get; }

    long Retried { get; }

    long Dropped { get; }

    long Rejected { get; }

    /// <summary>Reports waiting for the webhook.</summary>
    int Waiting { get; }
}

/// <summary>The live config's version and refused reloads as the observable instruments read them; the runtime implements it.</summary>
internal interface IConfigReadings
{
    /// <summary>The config version serving now (1 at start, +1 per reload).</summary>
    long Version { get; }

    long ReloadFailures { get; }
}
