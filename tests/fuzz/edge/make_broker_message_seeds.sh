#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/broker_message_fuzz/ (serialized BrokerBatch seeds) from the text
# protos below with protoc. Socket ids are the fuzzer's 20-byte placeholders (@sock0.. @sock3).
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=tests/fuzz/corpus/broker_message_fuzz
mkdir -p "$out"
S0=@sock0@@@@@@@@@@@@@@ S1=@sock1@@@@@@@@@@@@@@ S2=@sock2@@@@@@@@@@@@@@ S3=@sock3@@@@@@@@@@@@@@

batch() {  # name, BrokerBatch text proto
  printf '%s' "$2" | protoc -Iprotos --encode=herald.internal.BrokerBatch \
    protos/herald/internal/edgelink.proto >"$out/$1"
}
# A BusEnvelope text proto → its bytes as a text-proto string literal (octal escapes).
envelope() {
  printf '%s' "$1" | protoc -Iprotos --encode=herald.internal.BusEnvelope \
    protos/herald/internal/bus.proto | od -An -v -to1 | tr -s ' \n' ' ' |
    sed 's/ \([0-7]\{3\}\)/\\\1/g; s/ //g'
}
fallback() {  # name, subject, envelope text proto
  batch "$1" "messages { bus_fallback { subject: \"$2\" envelope: \"$(envelope "$3")\" } }"
}

batch accept_pending "messages { accepted { socket_id: \"$S1\" user_id: \"42\" rooms: \"user:42\"
  rooms: \"lobby\" data_json: '{\"role\":\"admin\"}' token_expires_at_ms: 1 } }"
batch reject_pending "messages { rejected { socket_id: \"$S1\" error { code: \"INVALID_TOKEN\"
  message: \"bad token\" details_json: '{\"reason\":\"exp\"}' } } }"
batch verdict_ack "messages { verdict { socket_id: \"$S0\" ns: \"/\" has_ack: true ack_id: 1
  args_json: '[\"ok\",{\"n\":1}]' } }"
batch verdict_binary_ack "messages { verdict { socket_id: \"$S2\" ns: \"/\" has_ack: true ack_id: 2
  args_json: '[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]'
  attachments: \"\\001\\002\" attachments: \"\" } }"
batch verdict_error "messages { verdict { socket_id: \"$S0\" ns: \"/\" error { code: \"FORBIDDEN\"
  message: \"no\" details_json: '{\"event\":\"message\"}' } } }
  messages { verdict { socket_id: \"$S2\" ns: \"/\" has_ack: true ack_id: 2 error {
  code: \"VALIDATION_FAILED\" message: \"schema\" } } }"
batch emit "messages { emit { socket_id: \"$S0\" ns: \"/\" event: \"news\"
  args_json: '[1,\"two\",{\"three\":[3]}]' request_id: 7 } }
  messages { emit { socket_id: \"$S2\" ns: \"/\" event: \"file\"
  args_json: '[{\"_placeholder\":true,\"num\":0}]' attachments: \"\\377\\000\" } }
  messages { emit { socket_id: \"$S1\" ns: \"/chat\" event: \"early\" args_json: '[]' } }"
batch rooms "messages { rooms { socket_ids: \"$S0\" socket_ids: \"$S2\" socket_ids: \"$S3\"
  join: \"a\" join: \"b\" leave: \"lobby\" } }"
batch disconnect "messages { disconnect { socket_id: \"$S0\" reason: \"kicked\" }
  } messages { disconnect { socket_id: \"$S2\" reason: \"bye\" close_connection: true } }"
batch stale "messages { accepted { socket_id: \"$S3\" } }
  messages { emit { socket_id: \"ZZZZ0abcdefghijklmno\" ns: \"/\" event: \"x\" args_json: '[]' } }
  messages { verdict { socket_id: \"short\" has_ack: true ack_id: 99 } }
  messages { rooms { socket_ids: \"ZZZZ9abcdefghijklmno\" join: \"r\" } }"
batch accept_twice "messages { accepted { socket_id: \"$S0\" rooms: \"again\" } }
  messages { accepted { socket_id: \"$S1\" } } messages { rejected { socket_id: \"$S1\" } }
  messages { emit { socket_id: \"$S1\" ns: \"/chat\" event: \"hello\" args_json: '[\"x\"]' } }"
fallback fallback_delivery "herald.room.~2F.lobby" "delivery { ns: \"/\" rooms: \"lobby\"
  except_socket_ids: \"$S2\" event: \"chat\" args_json: '[\"hi\",{\"from\":\"a\"}]' id: 1 }"
fallback fallback_command "herald.edge.edge-1" "command { ns: \"/\" socket_ids: \"$S0\"
  socket_ids: \"$S2\" join: \"x\" leave: \"lobby\" }"
fallback fallback_room_disconnect "herald.room.~2F.lobby" "command { ns: \"/\" room: \"lobby\"
  disconnect: true close_connection: true reason: \"room closed\" }"
fallback bus_ns_binary "bus:herald.ns.~2F" "delivery { ns: \"/\" event: \"blob\"
  args_json: '[{\"_placeholder\":true,\"num\":0}]' attachments: \"\\000\\001\" volatile: true
  except_rooms: \"team:1\" }"
fallback bus_edge_command "bus:herald.edge.edge-1" "command { ns: \"/\" socket_ids: \"$S0\"
  join: \"team:2\" disconnect: false }"
fallback bus_snapshot_request "bus:herald.snapshot" "snapshot_request { requester: \"b1\"
  edge_id: \"edge-1\" }"
fallback bus_room_delivery_bad_args "bus:herald.room.~2F.team:1" "delivery { ns: \"/\"
  rooms: \"team:1\" event: \"e\" args_json: '{\"not\":\"an array\"}' }"
ls "$out" | wc -l
