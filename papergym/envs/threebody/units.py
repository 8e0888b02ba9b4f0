"""N-body units of the three-body problem: G = 1, mass unit 3 solar masses, length unit 1 au.

The authors convert with the total mass of the three stars (3 solar masses) and 1 au, so the time unit is
``sqrt(au^3 / (G * 3 M_sun))`` = 0.0919 yr (33.6 days) and the velocity unit ``au / time unit`` = 51.6 km/s.
The constants are the IAU 2012/2015 nominal values (the solar mass parameter GM_sun, not G and M_sun
separately, so no digits are lost to the uncertainty of G).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: IAU 2015 nominal solar mass parameter G * M_sun [m^3 s^-2].
GM_SUN = 1.3271244e20
#: IAU 2012 astronomical unit [m].
AU = 1.495978707e11
#: Julian year [s].
YEAR = 365.25 * 86400.0


@dataclass(frozen=True)
class NBodyUnits:
    """Conversions between N-body units (G = 1) and physical units for a mass and a length scale."""

    mass_msun: float = 3.0
    length_au: float = 1.0

    @property
    def time_s(self) -> float:
        """The time unit in seconds: sqrt(L^3 / (G M))."""
        return math.sqrt((self.length_au * AU) ** 3 / (GM_SUN * self.mass_msun))

    @property
    def time_yr(self) -> float:
        return self.time_s / YEAR

    @property
    def velocity_kms(self) -> float:
        """The velocity unit in km/s: L / T."""
        return self.length_au * AU / self.time_s / 1e3

    def mass(self, msun: float) -> float:
        """A mass in solar masses, in N-body units."""
        return msun / self.mass_msun

    def length(self, au: float) -> float:
        return au / self.length_au

    def velocity(self, kms: float) -> float:
        return kms / self.velocity_kms

    def time(self, years: float) -> float:
        return years / self.time_yr


#: The authors' units: three stars of one solar mass each, lengths in au.
PAPER_UNITS = NBodyUnits()
