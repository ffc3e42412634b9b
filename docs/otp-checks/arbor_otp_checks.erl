%% SPDX-License-Identifier: MIT
%%
%% Checks, on real Erlang/OTP, the supervisor behaviours that
%% tests/unit/test-engine.c pins. Run:
%%
%%   erlc arbor_otp_checks.erl && erl -noshell -s arbor_otp_checks main -s init stop
%%
%% Each scenario prints the order of starts/stops/exits as seen by the
%% workers, which_children afterwards, and the length of the supervisor's
%% restart window (#state.restarts). The output of OTP 25 is kept next to
%% this file as arbor_otp_checks.out.
-module(arbor_otp_checks).
-behaviour(supervisor).

-export([main/0, init/1, start_worker/1, worker_init/2, start_sup/2]).

%% --- logging: one registered process collecting lines in order ---------------
log_loop(Acc) ->
    receive
        {log, X} -> log_loop([X | Acc]);
        {dump, From} -> From ! {lines, lists:reverse(Acc)}, log_loop([])
    end.
log(X) -> arbor_otp_log ! {log, X}, ok.
dump() ->
    arbor_otp_log ! {dump, self()},
    receive {lines, L} -> L end.

%% --- workers -------------------------------------------------------------------
%% ets arbor_otp_fail: {Id, N}: the next N starts of Id fail.
%% ets arbor_otp_slow: {Id, Ms}: Id takes Ms to stop when asked to;
%%                    {Id, stubborn}: Id ignores the request to stop.
start_worker(Id) ->
    case ets:lookup(arbor_otp_fail, Id) of
        [{Id, N}] when N > 0 ->
            ets:insert(arbor_otp_fail, {Id, N - 1}),
            log({start_failed, Id}),
            {error, failed_on_purpose};
        _ ->
            proc_lib:start_link(?MODULE, worker_init, [Id, self()])
    end.

worker_init(Id, Parent) ->
    process_flag(trap_exit, true),
    catch unregister(Id),
    register(Id, self()),
    log({start, Id}),
    proc_lib:init_ack(Parent, {ok, self()}),
    worker_loop(Id, Parent).

worker_loop(Id, Parent) ->
    receive
        {'EXIT', Parent, Reason} when Reason =/= killed ->
            case ets:lookup(arbor_otp_slow, Id) of
                [{Id, stubborn}] -> log({ignores, Id, Reason}), worker_loop(Id, Parent);
                _ -> ok
            end,
            case ets:lookup(arbor_otp_slow, Id) of
                [{Id, Ms}] -> log({stopping_slowly, Id}), timer:sleep(Ms);
                _ -> ok
            end,
            log({stop, Id, Reason}),
            exit(Reason);
        {'EXIT', Parent, killed} ->
            log({supervisor_killed, Id}),
            exit(killed);
        {die, Reason} ->
            log({exit, Id, Reason}),
            exit(Reason);
        _ ->
            worker_loop(Id, Parent)
    end.

%% --- supervisors -----------------------------------------------------------------
start_sup(Name, {Flags, Specs}) ->
    supervisor:start_link({local, Name}, ?MODULE, {Name, Flags, Specs}).

init({Name, Flags, Specs}) ->
    log({sup_start, Name}),
    {ok, {Flags, Specs}}.

w(Id) -> w(Id, permanent, #{}).
w(Id, Restart) -> w(Id, Restart, #{}).
w(Id, Restart, Extra) ->
    maps:merge(#{id => Id, start => {?MODULE, start_worker, [Id]},
                 restart => Restart, shutdown => 2000, type => worker}, Extra).
sup(Id, Restart, Flags, Specs) ->
    #{id => Id, start => {?MODULE, start_sup, [Id, {Flags, Specs}]},
      restart => Restart, shutdown => infinity, type => supervisor}.

%% --- helpers -----------------------------------------------------------------------
settle() -> timer:sleep(100).
die(Id, Reason) -> Id ! {die, Reason}, settle().
window(Sup) ->
    S = sys:get_state(Sup),
    %% #state{name, strategy, children, dynamics, intensity, period, restarts, ...}
    length(element(8, S)).
children(Sup) ->
    [{Id, case P of undefined -> undefined; restarting -> restarting; _ -> running end}
     || {Id, P, _, _} <- supervisor:which_children(Sup)].

run(Title, Fun) ->
    io:format("~n=== ~s~n", [Title]),
    ets:delete_all_objects(arbor_otp_fail),
    ets:delete_all_objects(arbor_otp_slow),
    _ = dump(),
    Result = (catch Fun()),
    settle(),
    lists:foreach(fun(L) -> io:format("   ~p~n", [L]) end, dump()),
    io:format("   => ~p~n", [Result]),
    flush_exits().

flush_exits() ->
    receive {'EXIT', _, _} = M -> io:format("   (test process got ~p)~n", [M]), flush_exits()
    after 0 -> ok
    end.

stop_sup(Name) ->
    case whereis(Name) of
        undefined -> gone;
        Pid ->
            unlink(Pid),
            Mon = monitor(process, Pid),
            exit(Pid, shutdown),
            receive {'DOWN', Mon, process, Pid, _} -> stopped end
    end.

flags(Strategy, I, P) -> #{strategy => Strategy, intensity => I, period => P}.

%% --- the scenarios -------------------------------------------------------------------
main() ->
    process_flag(trap_exit, true),
    logger:set_primary_config(level, none), % crash reports would drown the output
    register(arbor_otp_log, spawn(fun() -> log_loop([]) end)),
    ets:new(arbor_otp_fail, [named_table, public]),
    ets:new(arbor_otp_slow, [named_table, public]),
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),

    [run(io_lib:format("(a) ~p: b stopped by terminate_child, then a crashes", [S]),
         fun() ->
                 {ok, _} = start_sup(s, {flags(S, 5, 10), [w(a), w(b), w(c)]}),
                 ok = supervisor:terminate_child(s, b),
                 log(terminate_child_b_returned),
                 die(a, crash),
                 R = {children(s), {window, window(s)}},
                 stop_sup(s), R
         end) || S <- [one_for_all, rest_for_one]],

    [run(io_lib:format("(b) ~p: transient b exits normally, then a crashes", [S]),
         fun() ->
                 {ok, _} = start_sup(s, {flags(S, 5, 10), [w(a), w(b, transient), w(c)]}),
                 die(b, normal),
                 log({after_b_normal, children(s), {window, window(s)}}),
                 die(a, crash),
                 R = {children(s), {window, window(s)}},
                 stop_sup(s), R
         end) || S <- [one_for_all, rest_for_one]],

    [run(io_lib:format("(c) ~p: temporary t after the crashing a", [S]),
         fun() ->
                 {ok, _} = start_sup(s, {flags(S, 5, 10), [w(a), w(t, temporary), w(c)]}),
                 die(a, crash),
                 R = {children(s), {window, window(s)}},
                 stop_sup(s), R
         end) || S <- [one_for_all, rest_for_one]],

    run("(c') one_for_all: temporary t crashes: siblings untouched",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_all, 5, 10), [w(a), w(t, temporary), w(c)]}),
                die(t, crash),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(c'') one_for_all: transient b exits normally: siblings untouched",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_all, 5, 10), [w(a), w(b, transient), w(c)]}),
                die(b, normal),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(d) one_for_one, intensity 5: a crashes, its restart fails once",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_one, 5, 10), [w(a), w(b)]}),
                ets:insert(arbor_otp_fail, {a, 1}),
                die(a, crash),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(d') one_for_one, intensity 1: a crashes, its restart fails once -> gives up",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_one, 1, 10), [w(a), w(b)]}),
                ets:insert(arbor_otp_fail, {a, 1}),
                die(a, crash),
                {alive, whereis(s)}
        end),

    run("(d'') one_for_all, intensity 5: a crashes, b fails to restart once",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_all, 5, 10), [w(a), w(b), w(c)]}),
                ets:insert(arbor_otp_fail, {b, 1}),
                die(a, crash),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(d''') rest_for_one, intensity 5: a crashes, c fails to restart once",
        fun() ->
                {ok, _} = start_sup(s, {flags(rest_for_one, 5, 10), [w(a), w(b), w(c), w(d)]}),
                ets:insert(arbor_otp_fail, {c, 1}),
                die(a, crash),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(e) one_for_all: b crashes while the supervisor is stopping slow c for a's restart",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_all, 5, 10), [w(a), w(b), w(c)]}),
                ets:insert(arbor_otp_slow, {c, 300}),
                a ! {die, crash},
                timer:sleep(100),
                die(b, crash2),
                timer:sleep(400),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(e') one_for_one: b crashes while the supervisor is stopping slow c (terminate_child)",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_one, 5, 10), [w(a), w(b), w(c)]}),
                ets:insert(arbor_otp_slow, {c, 300}),
                Self = self(),
                spawn(fun() -> Self ! {tc, supervisor:terminate_child(s, c)} end),
                timer:sleep(100),
                die(b, crash),
                receive {tc, TC} -> log({terminate_child_c, TC}) end,
                timer:sleep(100),
                R = {children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(f) all_significant: m1 stopped by terminate_child, m2 exits normally",
        fun() ->
                F = (flags(one_for_one, 5, 10))#{auto_shutdown => all_significant},
                {ok, P} = start_sup(s, {F, [w(m1, transient, #{significant => true}),
                                            w(m2, transient, #{significant => true}),
                                            w(x)]}),
                ok = supervisor:terminate_child(s, m1),
                die(m2, normal),
                {alive, is_process_alive(P)}
        end),

    run("(f') any_significant: significant temporary main stopped by terminate_child",
        fun() ->
                F = (flags(one_for_one, 5, 10))#{auto_shutdown => any_significant},
                {ok, P} = start_sup(s, {F, [w(main, temporary, #{significant => true}), w(x)]}),
                ok = supervisor:terminate_child(s, main),
                R = {alive, is_process_alive(P), children(s)},
                stop_sup(s), R
        end),

    run("(f'') any_significant, one_for_all: x crashes, significant temporary main is stopped",
        fun() ->
                F = (flags(one_for_all, 5, 10))#{auto_shutdown => any_significant},
                {ok, P} = start_sup(s, {F, [w(main, temporary, #{significant => true}), w(x)]}),
                die(x, crash),
                R = {alive, is_process_alive(P), children(s)},
                stop_sup(s), R
        end),

    run("(f''') any_significant: significant transient main crashes (restarted, no shutdown)",
        fun() ->
                F = (flags(one_for_one, 5, 10))#{auto_shutdown => any_significant},
                {ok, P} = start_sup(s, {F, [w(main, transient, #{significant => true}), w(x)]}),
                die(main, crash),
                R = {alive, is_process_alive(P), children(s)},
                stop_sup(s), R
        end),

    run("(f4) any_significant: significant temporary main exits",
        fun() ->
                F = (flags(one_for_one, 5, 10))#{auto_shutdown => any_significant},
                {ok, P} = start_sup(s, {F, [w(x), w(main, temporary, #{significant => true}), w(y)]}),
                die(main, crash),
                {alive, is_process_alive(P)}
        end),

    [run(io_lib:format("(g) ~p sub-supervisor with intensity 0 gives up", [Restart]),
         fun() ->
                 {ok, _} = start_sup(r, {flags(one_for_one, 5, 10),
                                         [w(a), sup(sub, Restart, flags(one_for_one, 0, 10), [w(x), w(y)]), w(b)]}),
                 die(x, crash),
                 R = {children(r), {window, window(r)}},
                 stop_sup(r), R
         end) || Restart <- [permanent, transient, temporary]],

    run("(h) initial start: b fails to start",
        fun() ->
                ets:insert(arbor_otp_fail, {b, 1}),
                start_sup(s, {flags(one_for_one, 5, 10), [w(a), w(b), w(c)]})
        end),

    run("(h') initial start: nested sub fails (y fails)",
        fun() ->
                ets:insert(arbor_otp_fail, {y, 1}),
                start_sup(r, {flags(one_for_one, 5, 10),
                              [w(a), sup(sub, permanent, flags(one_for_one, 5, 10), [w(x), w(y)]), w(b)]})
        end),

    run("(i) commands: terminate_child twice, restart_child on running and stopped child",
        fun() ->
                {ok, _} = start_sup(s, {flags(one_for_one, 5, 10), [w(a), w(t, temporary)]}),
                R1 = supervisor:terminate_child(s, a),
                R2 = supervisor:terminate_child(s, a),
                R3 = supervisor:restart_child(s, a),
                R4 = supervisor:restart_child(s, a),
                R5 = supervisor:terminate_child(s, t),
                R6 = supervisor:restart_child(s, t),
                R = {[R1, R2, element(1, R3), R4, R5, R6], children(s), {window, window(s)}},
                stop_sup(s), R
        end),

    run("(k) a sub-supervisor giving up (stuck on stubborn x) is stopped by its parent: Shutdown applies",
        fun() ->
                Sub = (sup(sub, permanent, flags(one_for_one, 0, 10), [w(x, permanent, #{shutdown => infinity}), w(y)]))#{shutdown => 500},
                {ok, _} = start_sup(r, {flags(one_for_one, 5, 10), [Sub]}),
                ets:insert(arbor_otp_slow, {x, stubborn}),
                die(y, crash),
                T0 = erlang:monotonic_time(millisecond),
                log(root_shutdown_begins),
                stop_sup(r),
                {root_stopped_after_ms, (erlang:monotonic_time(millisecond) - T0) div 100 * 100}
        end),

    run("(j) shutdown order: nested, reverse, depth first",
        fun() ->
                {ok, _} = start_sup(r, {flags(one_for_one, 5, 10),
                                        [w(a), sup(sub, permanent, flags(one_for_one, 5, 10), [w(x), w(y)]), w(b)]}),
                stop_sup(r)
        end),

    ok.
