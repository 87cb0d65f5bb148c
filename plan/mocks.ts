// Mocks standing in for the providers: each resource echoes its inputs plus the computed outputs a
// real provider would return (ids, self links, private IPs, CA certificates...), so values derived
// from them read like the real thing in the plan. Values are derived from a hash of the resource's
// type and name, so adding one resource never changes another's outputs. A `name` the program leaves
// out arrives here already auto-named by the recorder, as a real provider receives it from Check.
import { createHash } from "node:crypto";

import type * as pulumi from "@pulumi/pulumi";

export interface MockContext {
  /** `gcp:project` and `gcp:region` of the stack, used when a resource does not name its own. */
  project: string;
  region: string;
}

type Inputs = Record<string, unknown>;
type ComputedOutputs = (inputs: Inputs, name: string, context: MockContext) => Inputs;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const hash = (text: string) => parseInt(sha256(text).slice(0, 8), 16);

const octets = (seed: string) => [
  hash(seed) & 0xff,
  (hash(seed) >>> 8) & 0xff,
  ((hash(seed) >>> 16) % 254) + 1,
];
const privateIp = (seed: string) => `10.${octets(seed).join(".")}`;
const publicIp = (seed: string) => `34.${octets(seed).join(".")}`;
const hex = (seed: string, length: number) => (sha256(seed) + sha256(`${seed}#`)).slice(0, length);

function pemCertificate(seed: string): string {
  const body = Buffer.from(`offline-plan mock certificate ${seed} `.repeat(4)).toString("base64");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n")}\n-----END CERTIFICATE-----\n`;
}

const str = (value: unknown, fallback: string) =>
  typeof value === "string" && value !== "" ? value : fallback;

/** Physical name, project and region/location a GCP resource would get. */
function gcpNames(inputs: Inputs, name: string, context: MockContext) {
  const project = str(inputs.project, context.project);
  const location = str(inputs.location ?? inputs.region, context.region);
  return { name: str(inputs.name, name), project, location, region: str(inputs.region, context.region) };
}

/** Cloud Run's short region code in `*.a.run.app` hosts: europe-west1 -> ew. */
const regionCode = (region: string) =>
  region
    .split("-")
    .map((part) => part[0])
    .join("");

const computedOutputsByType: Record<string, ComputedOutputs> = {
  "gcp:compute/network:Network": (inputs, logical, context) => {
    const { name, project } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/global/networks/${name}`;
    return { id, name, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
  },
  "gcp:compute/subnetwork:Subnetwork": (inputs, logical, context) => {
    const { name, project, region } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/regions/${region}/subnetworks/${name}`;
    const gatewayAddress = str(inputs.ipCidrRange, "10.0.0.0/20").replace(/\.0\/\d+$/, ".1");
    return { id, name, region, gatewayAddress, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
  },
  "gcp:compute/globalAddress:GlobalAddress": (inputs, logical, context) => {
    const { name, project } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/global/addresses/${name}`;
    const internal = inputs.addressType === "INTERNAL" || inputs.purpose === "VPC_PEERING";
    const address = str(inputs.address, internal ? `10.${octets(id)[0]}.0.0` : publicIp(id));
    return { id, name, address, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
  },
  "gcp:compute/uRLMap:URLMap": (inputs, logical, context) => {
    const { name, project } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/global/urlMaps/${name}`;
    return { id, name, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
  },
  "gcp:compute/router:Router": (inputs, logical, context) => {
    const { name, project, region } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/regions/${region}/routers/${name}`;
    return { id, name, region, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
  },
  "gcp:monitoring/notificationChannel:NotificationChannel": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    const name = `projects/${project}/notificationChannels/${hash(`${project}/${logical}`)}`;
    return { id: name, name, verificationStatus: "VERIFIED" };
  },
  "gcp:monitoring/customService:CustomService": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    const serviceId = str(inputs.serviceId, hex(logical, 22));
    const name = `projects/${projectNumber(project)}/services/${serviceId}`;
    return { id: name, name, serviceId };
  },
  "gcp:monitoring/slo:Slo": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    const sloId = str(inputs.sloId, hex(logical, 22));
    const service = `projects/${projectNumber(project)}/services/${str(inputs.service, "service")}`;
    const name = `${service}/serviceLevelObjectives/${sloId}`;
    return { id: name, name, sloId };
  },
  "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    const uptimeCheckId = `${logical}-${hex(`${project}/${logical}`, 11)}`;
    const name = `projects/${project}/uptimeCheckConfigs/${uptimeCheckId}`;
    return { id: name, name, uptimeCheckId };
  },
  "gcp:monitoring/dashboard:Dashboard": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    return { id: `projects/${projectNumber(project)}/dashboards/${hex(`${project}/${logical}`, 32)}` };
  },
  "gcp:servicenetworking/connection:Connection": (inputs) => ({
    id: `${str(inputs.network, "network")}:${str(inputs.service, "servicenetworking.googleapis.com")}`,
    peering: "servicenetworking-googleapis-com",
  }),
  "gcp:sql/databaseInstance:DatabaseInstance": (inputs, logical, context) => {
    const { name, project, region } = gcpNames(inputs, logical, context);
    const ipAddress = privateIp(`${project}/${name}`);
    return {
      id: name,
      name,
      connectionName: `${project}:${region}:${name}`,
      privateIpAddress: ipAddress,
      firstIpAddress: ipAddress,
      publicIpAddress: "",
      ipAddresses: [{ ipAddress, type: "PRIVATE", timeToRetire: "" }],
      serverCaCerts: [
        { cert: pemCertificate(name), commonName: `C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA` },
      ],
      selfLink: `https://sqladmin.googleapis.com/sql/v1beta4/projects/${project}/instances/${name}`,
      dnsName: `${hex(name, 12)}.${region}.sql.goog.`,
    };
  },
  "gcp:redis/instance:Instance": (inputs, logical, context) => {
    const { name, project, region } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/locations/${region}/instances/${name}`;
    const tls = inputs.transitEncryptionMode === "SERVER_AUTHENTICATION";
    return {
      id,
      name,
      host: privateIp(id),
      port: tls ? 6378 : 6379,
      authString: inputs.authEnabled === true ? hex(`auth/${id}`, 36) : "",
      serverCaCerts: tls ? [{ cert: pemCertificate(id), serialNumber: hex(id, 8) }] : [],
      readEndpoint: inputs.readReplicasMode === "READ_REPLICAS_ENABLED" ? privateIp(`read/${id}`) : "",
      readEndpointPort: 6379,
      currentLocationId: `${region}-b`,
    };
  },
  "gcp:container/cluster:Cluster": (inputs, logical, context) => {
    const { name, project, location } = gcpNames(inputs, logical, context);
    const id = `projects/${project}/locations/${location}/clusters/${name}`;
    const privateEndpoint =
      (inputs.privateClusterConfig as Inputs | undefined)?.enablePrivateEndpoint === true;
    return {
      id,
      name,
      endpoint: privateEndpoint ? privateIp(id) : publicIp(id),
      masterAuth: { clusterCaCertificate: Buffer.from(pemCertificate(id)).toString("base64") },
      masterVersion: "1.33.5-gke.1201000",
      selfLink: `https://container.googleapis.com/v1/${id}`,
    };
  },
  "gcp:container/nodePool:NodePool": (inputs, logical, context) => {
    const { name, project, location } = gcpNames(inputs, logical, context);
    return {
      id: `projects/${project}/locations/${location}/clusters/${str(inputs.cluster, "cluster")}/nodePools/${name}`,
      name,
    };
  },
  "gcp:cloudrunv2/service:Service": (inputs, logical, context) => {
    const { name, project, location } = gcpNames(inputs, logical, context);
    const uri = `https://${name}-${hex(project, 10)}-${regionCode(location)}.a.run.app`;
    return { id: `projects/${project}/locations/${location}/services/${name}`, name, uri, urls: [uri] };
  },
  "gcp:artifactregistry/repository:Repository": (inputs, logical, context) => {
    const { project, location } = gcpNames(inputs, logical, context);
    const repositoryId = str(inputs.repositoryId, logical);
    return {
      id: `projects/${project}/locations/${location}/repositories/${repositoryId}`,
      name: repositoryId,
      registryUri: `${location}-docker.pkg.dev/${project}/${repositoryId}`,
    };
  },
  "gcp:secretmanager/secret:Secret": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    const secretId = str(inputs.secretId, logical);
    return {
      id: `projects/${project}/secrets/${secretId}`,
      name: `projects/${projectNumber(project)}/secrets/${secretId}`,
    };
  },
  "gcp:secretmanager/secretVersion:SecretVersion": (inputs) => {
    const name = `${str(inputs.secret, "secret")}/versions/1`;
    return { id: name, name, version: "1" };
  },
  "gcp:serviceaccount/account:Account": (inputs, logical, context) => {
    const { project } = gcpNames(inputs, logical, context);
    const email = `${str(inputs.accountId, logical)}@${project}.iam.gserviceaccount.com`;
    const name = `projects/${project}/serviceAccounts/${email}`;
    return { id: name, name, email, member: `serviceAccount:${email}`, uniqueId: String(hash(email)) };
  },
  // docker-build's Image pushes and reports the manifest digest; the reference by digest is what
  // both platforms run.
  "docker-build:index:Image": (inputs) => {
    const tags = Array.isArray(inputs.tags) ? inputs.tags.map((tag) => str(tag, "image")) : ["image"];
    const repository = (tags[0] ?? "image").replace(/:[^:/]+$/, "");
    const digest = `sha256:${hex(tags.join(","), 64)}`;
    return { digest, ref: `${repository}@${digest}`, contextHash: hex(`context/${tags.join(",")}`, 64) };
  },
  "random:index/randomPassword:RandomPassword": (inputs, logical) => {
    const length = typeof inputs.length === "number" ? inputs.length : 16;
    return {
      result: hex(`password/${logical}`, length),
      bcryptHash: `$2a$10$${hex(`bcrypt/${logical}`, 53)}`,
    };
  },
  "kubernetes:core/v1:Service": (inputs, logical) => ({
    metadata: kubernetesMetadata(inputs, logical),
    status: { loadBalancer: { ingress: [{ ip: publicIp(logical) }] } },
  }),
};

/** Kubernetes auto-names objects `<logical name>-<random suffix>` and defaults the namespace. */
function kubernetesMetadata(inputs: Inputs, logical: string): Inputs {
  const metadata = (inputs.metadata ?? {}) as Inputs;
  return { namespace: "default", ...metadata, name: str(metadata.name, `${logical}-${hex(logical, 8)}`) };
}

/** Computed outputs shared by every type of a package, when the type has no rule of its own. */
const computedOutputsByPackage: Record<string, ComputedOutputs> = {
  kubernetes: (inputs, logical) => ({ metadata: kubernetesMetadata(inputs, logical) }),
};

const projectNumber = (project: string) => String(100000000000 + (hash(project) % 900000000000));

type InvokeAnswer = (inputs: Inputs, context: MockContext) => Inputs;

const invokeAnswers: Record<string, InvokeAnswer> = {
  "gcp:organizations/getProject:getProject": (inputs, context) => {
    const projectId = str(inputs.projectId, context.project);
    return { id: `projects/${projectId}`, projectId, number: projectNumber(projectId), name: projectId };
  },
  "gcp:organizations/getClientConfig:getClientConfig": (_inputs, context) => ({
    id: `projects/${context.project}/regions/${context.region}/zones/`,
    accessToken: `ya29.offline-plan-${hex(context.project, 24)}`,
    project: context.project,
    region: context.region,
    zone: "",
  }),
  "gcp:container/getEngineVersions:getEngineVersions": (_inputs, context) => {
    const versions = ["1.34.1-gke.1829001", "1.33.5-gke.1201000", "1.32.9-gke.1108000"];
    const byChannel = { RAPID: versions[0], REGULAR: versions[1], STABLE: versions[2] };
    return {
      id: `projects/${context.project}/locations/${context.region}`,
      latestMasterVersion: versions[0],
      latestNodeVersion: versions[0],
      defaultClusterVersion: versions[1],
      validMasterVersions: versions,
      validNodeVersions: versions,
      releaseChannelDefaultVersion: byChannel,
      releaseChannelLatestVersion: byChannel,
    };
  },
  // The edge (components/edge): the GKE cluster's node zones, and the zonal NEGs the NEG controller makes.
  "gcp:container/getCluster:getCluster": (inputs, context) => {
    const location = str(inputs.location, context.region);
    const zonal = /-[a-z]$/.test(location);
    const name = str(inputs.name, "cluster");
    return {
      id: `projects/${context.project}/locations/${location}/clusters/${name}`,
      name,
      location,
      nodeLocations: zonal ? [location] : ["b", "c", "d"].map((zone) => `${location}-${zone}`),
    };
  },
  "gcp:compute/getNetworkEndpointGroup:getNetworkEndpointGroup": (inputs, context) => {
    const project = str(inputs.project, context.project);
    const zone = str(inputs.zone, `${context.region}-b`);
    const id = `projects/${project}/zones/${zone}/networkEndpointGroups/${str(inputs.name, "neg")}`;
    return { id, name: inputs.name, zone, project, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
  },
  "gcp:compute/getZones:getZones": (inputs, context) => {
    const region = str(inputs.region, context.region);
    return {
      id: `projects/${context.project}/regions/${region}`,
      names: ["b", "c", "d"].map((zone) => `${region}-${zone}`),
    };
  },
};

export interface PlanMocks {
  mocks: pulumi.runtime.Mocks;
  /** Failures inside the mocks; the runtime drops them unless something awaits the resource. */
  errors: string[];
}

export function createMocks(context: MockContext): PlanMocks {
  const errors: string[] = [];
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      try {
        const inputs = args.inputs as Inputs;
        const rule = computedOutputsByType[args.type] ?? computedOutputsByPackage[args.type.split(":")[0]];
        const computed = rule?.(inputs, args.name, context) ?? {};
        const id = typeof computed.id === "string" ? computed.id : `${args.name}-id`;
        return { id: args.custom === false ? undefined : id, state: { ...inputs, ...computed } };
      } catch (error) {
        errors.push(`mock for ${args.type} ${args.name} failed: ${String(error)}`);
        throw error;
      }
    },
    call(args) {
      const answer = invokeAnswers[args.token];
      if (answer === undefined) {
        errors.push(`the plan has no mock answer for invoke ${args.token}`);
        throw new Error(`the plan has no mock answer for invoke ${args.token}`);
      }
      return answer(args.inputs as Inputs, context);
    },
  };
  return { mocks, errors };
}
