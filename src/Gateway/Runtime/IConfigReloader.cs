using Gateway.Configuration;

namespace Gateway.Runtime;

/// <summary>
/// Reloads the config file and swaps it in when valid. The admin API asks for a reload through this, so it need not
/// know the host that implements it.
/// </summary>
internal interface IConfigReloader
{
    ConfigLoadResult Reload(string path);
}
