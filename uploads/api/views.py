from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from uploads import services
from uploads.api.serializers import TicketRequestSerializer, TicketSerializer, absolute_urls
from uploads.api.throttles import TicketIssueThrottle


class TicketListView(APIView):
    """Issue an upload ticket: a form to post one image straight to storage."""

    throttle_classes = [TicketIssueThrottle]

    def post(self, request):
        serializer = TicketRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.issue_ticket(request.user, **serializer.validated_data)
        data = TicketSerializer(
            issued.ticket, context={"request": request, "upload": issued.upload}
        ).data
        return Response(data, status=status.HTTP_201_CREATED)


class TicketDetailView(APIView):
    def get(self, request, ticket_id):
        ticket = services.get_ticket(request.user, ticket_id)
        return Response(TicketSerializer(ticket, context={"request": request}).data)


class TicketConfirmView(APIView):
    """Check the uploaded image and attach it; safe to repeat."""

    def post(self, request, ticket_id):
        body = services.confirm_ticket(request.user, ticket_id)
        return Response(absolute_urls(request, body))
