#!/usr/bin/env bash
# Attaches a dead-letter policy to the push subscription Eventarc created for the
# function's trigger (Terraform can read that subscription's name but not manage it).
# Run by terraform_data.dead_letter_policy; safe to run again.
#   TRIGGER        projects/P/locations/R/triggers/T (the function's Eventarc trigger)
#   DEAD_LETTER    projects/P/topics/T (the dead-letter topic)
#   MAX_ATTEMPTS   deliveries before a message is dead-lettered (5-100)
#   PUBSUB_MEMBER  serviceAccount:service-N@gcp-sa-pubsub.iam.gserviceaccount.com
set -euo pipefail

: "${TRIGGER:?} ${DEAD_LETTER:?} ${MAX_ATTEMPTS:?} ${PUBSUB_MEMBER:?}"

sub=$(gcloud eventarc triggers describe "$TRIGGER" --format='value(transport.pubsub.subscription)')
if [ -z "$sub" ]; then
  echo "attach-dead-letter: trigger $TRIGGER has no Pub/Sub subscription yet" >&2
  exit 1
fi

# Forwarding a message to the dead-letter topic acknowledges it on the source
# subscription, which the Pub/Sub service agent may only do as a subscriber.
gcloud pubsub subscriptions add-iam-policy-binding "$sub" \
  --member="$PUBSUB_MEMBER" --role=roles/pubsub.subscriber --quiet >/dev/null
gcloud pubsub subscriptions update "$sub" \
  --dead-letter-topic="$DEAD_LETTER" --max-delivery-attempts="$MAX_ATTEMPTS" --quiet
echo "attach-dead-letter: $sub -> $DEAD_LETTER after $MAX_ATTEMPTS attempts"
