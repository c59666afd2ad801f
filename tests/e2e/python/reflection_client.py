"""A reflection-only gRPC client, as grpcurl, Postman and grpcio-reflection users run one.

It is given nothing but a server's address: grpcio-reflection (PyPI, which speaks the v1alpha
protocol) lists the services, resolves every method's request and response types from the
server's own descriptors, and the script then calls methods with messages built from those
types alone. Run once per assetd gRPC server:

    reflection_client.py TARGET SERVICE TOKEN

It checks that the listed services are SERVICE and health, that health reports SERVING, and, for
the catalog, that GetAsset of an unknown asset answers NOT_FOUND with the token and
UNAUTHENTICATED without it.
"""

import sys
import time
import uuid

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

HEALTH = "grpc.health.v1.Health"


def unary(channel, pool, service, method):
    """A callable for SERVICE/METHOD, typed from reflection, and the request class."""
    descriptor = pool.FindServiceByName(service).methods_by_name[method]
    request = message_factory.GetMessageClass(descriptor.input_type)
    response = message_factory.GetMessageClass(descriptor.output_type)
    call = channel.unary_unary(
        f"/{service}/{method}",
        request_serializer=request.SerializeToString,
        response_deserializer=response.FromString,
    )
    return call, request


def main():
    target, service, token = sys.argv[1:4]
    channel = grpc.insecure_channel(target)
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    assert services == sorted([service, HEALTH]), f"{target} lists {services}"

    pool = descriptor_pool.DescriptorPool(database)
    for name in services:
        for method in pool.FindServiceByName(name).methods:
            # Every request and response type resolves through reflection.
            message_factory.GetMessageClass(method.input_type)
            message_factory.GetMessageClass(method.output_type)
            print(f"{name}/{method.name}: {method.input_type.full_name} -> {method.output_type.full_name}")

    # Health turns SERVING once the role's readiness checks have passed (within seconds).
    check, request = unary(channel, pool, HEALTH, "Check")
    deadline = time.monotonic() + 15
    while True:
        answer = check(request(service=service), timeout=10)
        status = answer.DESCRIPTOR.fields_by_name["status"].enum_type.values_by_number[answer.status]
        if status.name == "SERVING":
            break
        assert time.monotonic() < deadline, f"{service} health: {status.name}"
        time.sleep(0.1)

    if service == "assetd.catalog.v1.CatalogService":
        get, request = unary(channel, pool, service, "GetAsset")
        message = request(account_id=str(uuid.uuid4()), asset_id=str(uuid.uuid4()))
        for metadata, code in [
            ([("authorization", f"Bearer {token}")], grpc.StatusCode.NOT_FOUND),
            ([], grpc.StatusCode.UNAUTHENTICATED),
        ]:
            try:
                get(message, metadata=metadata, timeout=10)
            except grpc.RpcError as err:
                assert err.code() == code, f"GetAsset: {err.code()} {err.details()}, wanted {code}"
            else:
                raise AssertionError(f"GetAsset of an unknown asset answered, wanted {code}")
    print("reflection flow passed")


if __name__ == "__main__":
    main()
