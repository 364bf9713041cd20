"""Weather: files, the store (observations and forecasts with their issue time) and Open-Meteo.

Irradiance [W/m2], air temperature [degC], wind speed [m/s], cloud cover [%]; every frame
is indexed by the UTC start of the interval its values describe.
"""

from services.weather.files import (
    WEATHER_COLUMNS,
    WeatherFile,
    WeatherFileError,
    read_weather_file,
)
from services.weather.open_meteo import (
    OpenMeteoClient,
    WeatherForecast,
    WeatherProviderError,
    check_weather_source,
    forecast_for_site,
    weather_source_status,
)
from services.weather.store import (
    SiteInfo,
    ensure_site,
    observed_weather,
    save_weather,
    site_for_household,
    weather_known_at,
)

__all__ = [
    "WEATHER_COLUMNS", "OpenMeteoClient", "SiteInfo", "WeatherFile", "WeatherFileError", "WeatherForecast",
    "WeatherProviderError", "check_weather_source", "ensure_site", "forecast_for_site", "observed_weather",
    "read_weather_file", "save_weather", "site_for_household", "weather_known_at", "weather_source_status",
]
