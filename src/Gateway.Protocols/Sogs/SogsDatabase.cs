using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// Reads SOGS's SQLite database read-only (schema: session-pysogs <c>sogs/schema.sqlite</c>) for global moderators
/// and admins (<c>users.moderator/admin</c>), room moderators and admins and explicit upload permissions
/// (<c>user_permission_overrides</c>), hidden or visible alike; re-read on the injected clock. A failed read keeps the
/// last good lists.
/// </summary>
internal sealed partial class SogsDatabase : IDisposable
{
    private readonly string _connection;
    private readonly SogsDirectory _directory;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private int _refreshing;

    public SogsDatabase(string path, TimeSpan every, SogsDirectory directory, TimeProvider time, ILogger logger)
    {
        _connection = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        _directory = directory;
        _logger = logger;
        Refresh();
        _timer = time.CreateTimer(_ => Refresh(), null, every, every);
    }

    /// <summary>Completed refreshes (tests wait on this instead of sleeping).</summary>
    public int Refreshes { get; private set; }

    public void Refresh()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return;
        }

        try
        {
            using var db = new SqliteConnection(_connection);
            db.Open();
            var global = Column(db, "SELECT session_id FROM users WHERE moderator OR admin");
            var mods = Pairs(db, """
                SELECT r.token, u.session_id FROM user_permission_overrides o
                JOIN rooms r ON r.id = o.room JOIN users u ON u.id = o."user" WHERE o.moderator OR o.admin
                """);
            var uploaders = Pairs(db, """
                SELECT r.token, u.session_id FROM user_permission_overrides o
                JOIN rooms r ON r.id = o.room JOIN users u ON u.id = o."user" WHERE o.upload AND NOT o.banned
                """);
            _directory.SetDatabase(global, mods, uploaders);
            Refreshes++;
        }
        catch (SqliteException ex)
        {
            DatabaseUnreadable(_logger, ex.SqliteErrorCode);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            DatabaseUnreadable(_logger, -1);
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private static List<string> Column(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read())
        {
            list.Add(r.GetString(0));
        }

        return list;
    }

    private static List<(string, string)> Pairs(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<(string, string)>();
        while (r.Read())
        {
            list.Add((r.GetString(0), r.GetString(1)));
        }

        return list;
    }

    public void Dispose() => _timer.Dispose();

    [LoggerMessage(EventId = 7401, Level = LogLevel.Warning, Message = "SOGS database could not be read (sqlite error {Code}); keeping the last moderator lists")]
    private static partial void DatabaseUnreadable(ILogger logger, int code);
}
