// Entry point of the policy pack (`pulumi preview --policy-pack policy`). Constructing the pack
// starts the gRPC server the Pulumi CLI talks to, so nothing else imports this file.
import { PolicyPack } from "@pulumi/policy";

import { policies } from "./policies";

new PolicyPack("items-api", {
  description: "Security, resilience, labelling and capacity rules for the items-api stacks.",
  enforcementLevel: "mandatory",
  policies,
});
