"""Teams around the lead plan: group composition (member units) and staffing (cadres, rotation)."""
