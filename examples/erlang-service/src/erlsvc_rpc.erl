%% @doc JSON-RPC 2.0 over HTTP POST, enough of MCP's lifecycle to answer
%% `initialize' with the server's info and capabilities.
-module(erlsvc_rpc).

-export([handle/1]).

-define(PROTOCOL_VERSION, <<"2025-06-18">>).

%% @doc Handles one request body: {HTTP status, JSON response body}.
-spec handle(binary()) -> {pos_integer(), iodata()}.
handle(Body) ->
    case erlsvc_json:decode(Body) of
        {ok, #{<<"jsonrpc">> := <<"2.0">>, <<"method">> := Method} = Req} when is_binary(Method) ->
            Id = maps:get(<<"id">>, Req, null),
            {200, erlsvc_json:encode(call(Method, maps:get(<<"params">>, Req, #{}), Id))};
        {ok, Other} ->
            Id = case Other of #{<<"id">> := I} -> I; _ -> null end,
            {400, erlsvc_json:encode(rpc_error(Id, -32600, <<"Invalid Request">>))};
        {error, _} ->
            {400, erlsvc_json:encode(rpc_error(null, -32700, <<"Parse error">>))}
    end.

call(<<"initialize">>, Params, Id) when is_map(Params) ->
    Client = maps:get(<<"protocolVersion">>, Params, ?PROTOCOL_VERSION),
    #{<<"jsonrpc">> => <<"2.0">>,
      <<"id">> => Id,
      <<"result">> =>
          #{<<"protocolVersion">> => negotiate(Client),
            <<"capabilities">> => #{<<"tools">> => #{<<"listChanged">> => false}},
            <<"serverInfo">> =>
                #{<<"name">> => <<"erlsvc">>,
                  <<"version">> => unicode:characters_to_binary(erlsvc_config:get(version))}}};
call(<<"initialize">>, _Params, Id) ->
    rpc_error(Id, -32602, <<"Invalid params">>);
call(<<"ping">>, _Params, Id) ->
    #{<<"jsonrpc">> => <<"2.0">>, <<"id">> => Id, <<"result">> => #{}};
call(Method, _Params, Id) ->
    rpc_error(Id, -32601, <<"Method not found: ", Method/binary>>).

negotiate(V) when V =:= <<"2024-11-05">>; V =:= <<"2025-03-26">>; V =:= ?PROTOCOL_VERSION -> V;
negotiate(_) -> ?PROTOCOL_VERSION.

rpc_error(Id, Code, Message) ->
    #{<<"jsonrpc">> => <<"2.0">>, <<"id">> => Id,
      <<"error">> => #{<<"code">> => Code, <<"message">> => Message}}.
