"""Customer satisfaction surveys: templates, invitations sent after a work order is resolved,
answers on the ``/s/`` page, scores (CSAT, NPS, CES) and the engineers' rating
(docs/surveys.md)."""

from server.surveys.models import SurveyInvitation, SurveyResponse, SurveyTemplate

__all__ = ["SurveyInvitation", "SurveyResponse", "SurveyTemplate"]
