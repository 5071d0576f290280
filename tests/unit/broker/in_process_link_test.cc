// The standalone in-process link: edge messages reach the broker, answers reach the edge's
// receiver, closing drops the edge's sessions.
#include "standalone/in_process_link.h"

#include <gtest/gtest.h>

#include "tests/unit/broker/broker_test_util.h"

namespace herald::broker {
namespace {

using testing::BrokerFixture;

class InProcessLinkTest : public BrokerFixture {};

TEST_F(InProcessLinkTest, RoundTripAndClose) {
  standalone::InProcessLink link(broker_, "edge-9");
  std::vector<internal::BrokerToEdge> received;
  link.broker_link().set_receiver(
      [&](internal::BrokerToEdge message) { received.push_back(std::move(message)); });
  EXPECT_EQ(link.edge_connection()->edge_id(), "edge-9");

  internal::EdgeToBroker open;
  open.mutable_open()->set_socket_id("s1");
  open.mutable_open()->set_ns("/open");
  link.broker_link().send(std::move(open));
  run();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].has_accepted());
  EXPECT_EQ(broker_->session_count(), 1u);

  link.close();
  run();
  EXPECT_EQ(broker_->session_count(), 0u);
  internal::EdgeToBroker again;
  again.mutable_open()->set_socket_id("s2");
  again.mutable_open()->set_ns("/open");
  link.broker_link().send(std::move(again));
  run();
  EXPECT_EQ(received.size(), 1u);
  EXPECT_EQ(broker_->session_count(), 0u);
}

}  // namespace
}  // namespace herald::broker
